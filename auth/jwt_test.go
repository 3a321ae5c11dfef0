package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// now is the verifier's clock in these tests.
var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// testKeys is a key pair of one JWT algorithm and the verifier configured
// for it.
type testKeys struct {
	method jwt.SigningMethod
	sign   any    // what signs tokens
	pubPEM []byte // the public key file's contents; nil for HS256
	v      *JWTVerifier
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func publicPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// newKeys generates a key of the method's kind and a verifier for it that
// expects the audience "chat".
func newKeys(t *testing.T, method jwt.SigningMethod) testKeys {
	t.Helper()
	k := testKeys{method: method}
	cfg := JWTConfig{Audience: "chat", Clock: clock}
	var pub crypto.PublicKey
	var err error
	switch method {
	case jwt.SigningMethodHS256:
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		k.sign, cfg.SecretFile = secret, writeFile(t, "secret", append(secret, '\n'))
	case jwt.SigningMethodES256:
		var priv *ecdsa.PrivateKey
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		k.sign, pub = priv, priv.Public()
	case jwt.SigningMethodRS256:
		var priv *rsa.PrivateKey
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		k.sign, pub = priv, priv.Public()
	case jwt.SigningMethodEdDSA:
		var priv ed25519.PrivateKey
		pub, priv, err = ed25519.GenerateKey(rand.Reader)
		k.sign = priv
	}
	if err != nil {
		t.Fatal(err)
	}
	if pub != nil {
		k.pubPEM = publicPEM(t, pub)
		cfg.PublicKeyFile = writeFile(t, "key.pem", k.pubPEM)
	}
	if k.v, err = NewJWTVerifier(cfg); err != nil {
		t.Fatalf("%s: %v", method.Alg(), err)
	}
	return k
}

// claims are a valid token's claims, with changes applied; a nil value
// removes a claim.
func claims(changes jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "Alice", "aud": "chat", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for name, v := range changes {
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTVerifierAcceptsEachKeyType(t *testing.T) {
	t.Parallel()
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodES256, jwt.SigningMethodRS256, jwt.SigningMethodEdDSA} {
		t.Run(m.Alg(), func(t *testing.T) {
			t.Parallel()
			k := newKeys(t, m)
			id, err := k.v.Verify(sign(t, m, k.sign, claims(nil)))
			if err != nil || id != (Identity{User: "alice"}) {
				t.Errorf("valid token: got %+v, %v; want user alice (folded), no token id", id, err)
			}
		})
	}
}

// TestJWTVerifierAllowsClockSkew: within JWTLeeway of exp, nbf or iat the
// token is still good, so an issuer whose clock is a little off works.
func TestJWTVerifierAllowsClockSkew(t *testing.T) {
	t.Parallel()
	k := newKeys(t, jwt.SigningMethodES256)
	skew := JWTLeeway - time.Second
	for name, c := range map[string]jwt.MapClaims{
		"just expired":     {"exp": now.Add(-skew).Unix()},
		"nbf a bit ahead":  {"nbf": now.Add(skew).Unix()},
		"iat a bit ahead":  {"iat": now.Add(skew).Unix()},
		"aud in a list":    {"aud": []string{"other", "chat"}},
		"nbf and iat past": {"nbf": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Minute).Unix()},
	} {
		if _, err := k.v.Verify(sign(t, k.method, k.sign, claims(c))); err != nil {
			t.Errorf("%s: %v, want accepted", name, err)
		}
	}
}

func TestJWTVerifierRefusesBadClaims(t *testing.T) {
	t.Parallel()
	k := newKeys(t, jwt.SigningMethodES256)
	late := JWTLeeway + time.Second
	for name, c := range map[string]jwt.MapClaims{
		"missing exp":  {"exp": nil},
		"expired":      {"exp": now.Add(-late).Unix()},
		"nbf ahead":    {"nbf": now.Add(late).Unix()},
		"iat ahead":    {"iat": now.Add(late).Unix()},
		"wrong aud":    {"aud": "other"},
		"missing aud":  {"aud": nil},
		"missing sub":  {"sub": nil},
		"empty sub":    {"sub": ""},
		"sub a number": {"sub": 42},
		"invalid sub":  {"sub": "al ice"},
		"non-ASCII":    {"sub": "zoë"},
		"sub too long": {"sub": strings.Repeat("a", 33)},
		"exp a string": {"exp": "tomorrow"},
	} {
		assertRefused(t, k.v, name, sign(t, k.method, k.sign, claims(c)))
	}
}

func TestJWTVerifierRefusesForgedTokens(t *testing.T) {
	t.Parallel()
	es, rs := newKeys(t, jwt.SigningMethodES256), newKeys(t, jwt.SigningMethodRS256)
	hs := newKeys(t, jwt.SigningMethodHS256)
	other := newKeys(t, jwt.SigningMethodES256)
	valid := claims(nil)
	good := sign(t, es.method, es.sign, valid)
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)
	cases := []struct {
		name  string
		v     *JWTVerifier
		token string
	}{
		{"signed by another key", es.v, sign(t, es.method, other.sign, valid)},
		{"alg none, ES256 config", es.v, none},
		{"alg none, HS256 config", hs.v, none},
		{"HS256 keyed with the public key PEM, ES256 config", es.v, sign(t, jwt.SigningMethodHS256, es.pubPEM, valid)},
		{"HS256 keyed with the public key PEM, RS256 config", rs.v, sign(t, jwt.SigningMethodHS256, rs.pubPEM, valid)},
		{"ES256 token, RS256 config", rs.v, sign(t, es.method, es.sign, valid)},
		{"HS384 with the right secret", hs.v, sign(t, jwt.SigningMethodHS384, hs.sign, valid)},
		{"HS256 with another secret", hs.v, sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), valid)},
		{"signature removed", es.v, good[:strings.LastIndex(good, ".")+1]},
		{"garbage", es.v, "not a token"},
		{"three garbage parts", es.v, "a.b.c"},
		{"empty", es.v, ""},
	}
	for _, c := range cases {
		assertRefused(t, c.v, c.name, c.token)
	}
}

// assertRefused checks that v refuses token with ErrUnauthorized and that
// the error quotes no part of the token.
func assertRefused(t *testing.T, v *JWTVerifier, name, token string) {
	t.Helper()
	id, err := v.Verify(token)
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("%s: got %+v, %v; want ErrUnauthorized", name, id, err)
		return
	}
	for part := range strings.SplitSeq(token, ".") {
		if len(part) > 3 && strings.Contains(err.Error(), part) {
			t.Errorf("%s: error %q quotes the token", name, err)
		}
	}
}

func TestNewJWTVerifierFailsClearly(t *testing.T) {
	t.Parallel()
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(ec256)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	secret := writeFile(t, "secret", []byte(strings.Repeat("s", 32)))
	cases := []struct {
		name string
		cfg  JWTConfig
		want string
	}{
		{"neither", JWTConfig{}, "required"},
		{"both", JWTConfig{SecretFile: secret, PublicKeyFile: secret}, "not both"},
		{"missing secret", JWTConfig{SecretFile: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"unreadable secret", JWTConfig{SecretFile: t.TempDir()}, "is a directory"},
		{"empty secret", JWTConfig{SecretFile: writeFile(t, "s", []byte("\n"))}, "empty"},
		{"short secret", JWTConfig{SecretFile: writeFile(t, "s", []byte("hunter2\n"))}, "at least 32"},
		{"missing key", JWTConfig{PublicKeyFile: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"empty key", JWTConfig{PublicKeyFile: writeFile(t, "k", nil)}, "no PEM block"},
		{"private key", JWTConfig{PublicKeyFile: writeFile(t, "k", privPEM)}, `"PRIVATE KEY" is not a public key`},
		{"P-384", JWTConfig{PublicKeyFile: writeFile(t, "k", publicPEM(t, ec384.Public()))}, "P-384 is not supported"},
		{"corrupt key", JWTConfig{PublicKeyFile: writeFile(t, "k", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}))}, "jwt public key"},
	}
	for _, c := range cases {
		_, err := NewJWTVerifier(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", c.name, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "sssssssss") || strings.Contains(err.Error(), "hunter2")) {
			t.Errorf("%s: error %q quotes the key", c.name, err)
		}
	}
}

// TestPublicKeyFromCertificate: the key may come as the issuer's
// certificate, as some identity providers publish it.
func TestPublicKeyFromCertificate(t *testing.T) {
	t.Parallel()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	v, err := NewJWTVerifier(JWTConfig{PublicKeyFile: path, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := v.Verify(sign(t, jwt.SigningMethodES256, priv, claims(jwt.MapClaims{"aud": nil}))); err != nil || id.User != "alice" {
		t.Errorf("got %+v, %v; want alice (no audience configured, so none required)", id, err)
	}
}
