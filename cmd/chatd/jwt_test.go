package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/actorchat/chat/auth"
)

func TestJWTOptionsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-jwt-secret-file", "s", "-jwt-public-key", "k.pem"}, nil, "exclude each other"},
		{nil, map[string]string{"CHAT_JWT_SECRET_FILE": "s", "CHAT_JWT_PUBLIC_KEY": "k.pem"}, "exclude each other"},
		{[]string{"-jwt-audience", "chat"}, nil, "-jwt-audience needs"},
		{[]string{"-auth", "jwt"}, nil, "-auth jwt needs"},
		{[]string{"-jwt-secret-file", "s"}, nil, "go with -auth jwt"},
		{[]string{"-auth", "none", "-jwt-public-key", "k.pem"}, nil, "go with -auth jwt"},
	} {
		_, err := parseOptions(c.args, env(c.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want one mentioning %q", c.args, c.env, err, c.want)
		}
	}
}

// TestJWTVerifierFromOptions: the verifier -auth jwt gets verifies tokens
// signed with the configured secret for the configured audience.
func TestJWTVerifierFromOptions(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("k", 40))
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseOptions(nil, env(map[string]string{"CHAT_AUTH": "jwt", "CHAT_JWT_SECRET_FILE": path, "CHAT_JWT_AUDIENCE": "chat"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwtVerifier(o, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	token := func(aud string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "Dave", "aud": aud, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if id, err := v.Verify(token("chat")); err != nil || id.User != "dave" {
		t.Errorf("token for the audience: %+v, %v; want dave", id, err)
	}
	if _, err := v.Verify(token("elsewhere")); !errors.Is(err, auth.ErrUnauthorized) {
		t.Errorf("token for another audience: %v, want ErrUnauthorized", err)
	}
}

func TestJWTVerifierNeedsAKey(t *testing.T) {
	t.Parallel()
	if _, err := jwtVerifier(options{}, time.Now); err == nil || !strings.Contains(err.Error(), "-jwt-secret-file or -jwt-public-key") {
		t.Errorf("no key: error %v, want one naming both flags", err)
	}
	missing := filepath.Join(t.TempDir(), "key.pem")
	if _, err := jwtVerifier(options{jwtPublicKey: missing}, time.Now); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing key file: error %v, want one naming it", err)
	}
}
