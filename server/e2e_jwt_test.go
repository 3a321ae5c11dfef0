package server_test

// End-to-end tests of the jwt mode (docs/protocol.md, "jwt mode"): tokens
// another service signs, presented as in the accounts mode, with keys
// generated here: an HS256 secret and an ES256 key pair.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// jwtAudience is the audience the test servers want.
const jwtAudience = "chat"

// startJWT starts a server in jwt mode with the verifier cfg describes
// (its audience set to jwtAudience).
func startJWT(t *testing.T, cfg auth.JWTConfig) *env {
	t.Helper()
	cfg.Audience = jwtAudience
	v, err := auth.NewJWTVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, withServer(func(c *server.Config) { c.Verifier = v }))
}

// writeFile writes data to a fresh file and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hsSecret returns a fresh HS256 secret and the file holding it.
func hsSecret(t *testing.T) (secret []byte, path string) {
	t.Helper()
	secret = make([]byte, 32)
	_, _ = rand.Read(secret)
	return secret, writeFile(t, "secret", secret)
}

// esKey returns a fresh ES256 key pair and the PEM file of its public key.
func esKey(t *testing.T) (key *ecdsa.PrivateKey, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, writeFile(t, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// claims are a valid token's claims for sub: the audience, and an hour
// to live.
func claims(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "aud": jwtAudience, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
}

// sign signs c with method and key.
func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// without returns c without the named claims.
func without(c jwt.MapClaims, names ...string) jwt.MapClaims {
	for _, n := range names {
		delete(c, n)
	}
	return c
}

// with returns c with one claim set.
func with(c jwt.MapClaims, name string, v any) jwt.MapClaims {
	c[name] = v
	return c
}

func TestJWTHS256(t *testing.T) {
	t.Parallel()
	secret, path := hsSecret(t)
	e := startJWT(t, auth.JWTConfig{SecretFile: path})
	c := joinToken(t, e, sign(t, jwt.SigningMethodHS256, secret, claims("Dave")), "dave")
	c.leave(t)
	c = joinWith(t, e, "user=dave&token="+sign(t, jwt.SigningMethodHS256, secret, claims("dave")), nil, "dave")
	c.leave(t)

	other := make([]byte, 32)
	for what, token := range map[string]string{
		"a bad signature": sign(t, jwt.SigningMethodHS256, other, claims("dave")),
		"no exp":          sign(t, jwt.SigningMethodHS256, secret, without(claims("dave"), "exp")),
		"no aud":          sign(t, jwt.SigningMethodHS256, secret, without(claims("dave"), "aud")),
		"a wrong aud":     sign(t, jwt.SigningMethodHS256, secret, with(claims("dave"), "aud", "elsewhere")),
		"an expired exp":  sign(t, jwt.SigningMethodHS256, secret, with(claims("dave"), "exp", time.Now().Add(-time.Hour).Unix())),
		"alg none":        sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("dave")),
		"an invalid sub":  sign(t, jwt.SigningMethodHS256, secret, claims("no way")),
		"not a jwt":       strings.Repeat("A", 43),
	} {
		wantRefused(t, e, what, "", bearer(token), http.StatusUnauthorized)
		wantRefused(t, e, what+" in the query", "token="+token, nil, http.StatusUnauthorized)
	}
	wantRefused(t, e, "another user", "user=erin", bearer(sign(t, jwt.SigningMethodHS256, secret, claims("dave"))), http.StatusForbidden)
	wantRefused(t, e, "no token", "user=dave", nil, http.StatusUnauthorized)
}

func TestJWTES256(t *testing.T) {
	t.Parallel()
	key, path := esKey(t)
	e := startJWT(t, auth.JWTConfig{PublicKeyFile: path})
	joinToken(t, e, sign(t, jwt.SigningMethodES256, key, claims("dave")), "dave")

	otherKey, _ := esKey(t)
	pub, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for what, token := range map[string]string{
		"another key's signature":            sign(t, jwt.SigningMethodES256, otherKey, claims("dave")),
		"HS256 with the public key's bytes":  sign(t, jwt.SigningMethodHS256, pub, claims("dave")),
		"alg none":                           sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("dave")),
		"no exp":                             sign(t, jwt.SigningMethodES256, key, without(claims("dave"), "exp")),
		"a wrong aud":                        sign(t, jwt.SigningMethodES256, key, with(claims("dave"), "aud", "elsewhere")),
		"an nbf an hour ahead":               sign(t, jwt.SigningMethodES256, key, with(claims("dave"), "nbf", time.Now().Add(time.Hour).Unix())),
		"a signature of the wrong algorithm": sign(t, jwt.SigningMethodES384, mustP384(t), claims("dave")),
	} {
		wantRefused(t, e, what, "", bearer(token), http.StatusUnauthorized)
	}
}

// mustP384 returns a fresh P-384 key, for ES384.
func mustP384(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWTNamesBecomeKnownOnFirstConnect: the server keeps no accounts in
// jwt mode, so, as in version 1, a dm to a name that has never connected
// is unknown_user, and once it has connected the dm is queued for it.
func TestJWTNamesBecomeKnownOnFirstConnect(t *testing.T) {
	t.Parallel()
	secret, path := hsSecret(t)
	e := startJWT(t, auth.JWTConfig{SecretFile: path})
	alice := joinToken(t, e, sign(t, jwt.SigningMethodHS256, secret, claims("alice")), "alice")
	alice.sendFrame(t, dmFrame("bob", "before", "dm-1"))
	alice.expectError(t, wire.CodeUnknownUser)

	bob := joinToken(t, e, sign(t, jwt.SigningMethodHS256, secret, claims("bob")), "bob")
	alice.expectFrame(t, "bob's presence", func(f frame) bool { return f.Type == "presence" && f.User == "bob" && f.IsOnline })
	bob.leave(t)
	alice.expectFrame(t, "bob's absence", func(f frame) bool { return f.Type == "presence" && f.User == "bob" && !f.IsOnline })
	if sent := alice.dm(t, "bob", "after", "dm-2"); !sent.Queued {
		t.Fatalf("dm to bob after he connected once: %s, want queued", sent.Raw)
	}
}

// TestJWTModeHasNoAccountsAPI: tokens are minted elsewhere.
func TestJWTModeHasNoAccountsAPI(t *testing.T) {
	t.Parallel()
	_, path := hsSecret(t)
	e := startJWT(t, auth.JWTConfig{SecretFile: path})
	for _, p := range []string{"/api/register", "/api/login", "/api/logout", "/api/password"} {
		resp, err := apiClient.Post(e.hs.URL+p, "application/json", strings.NewReader(creds("alice", "correct horse")))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("POST %s in jwt mode: %d, want 404", p, resp.StatusCode)
		}
	}
}
