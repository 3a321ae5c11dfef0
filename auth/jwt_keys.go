package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/golang-jwt/jwt/v5"
)

// Reading JWT mode's keys. Errors name the file and what is wrong with it,
// never its contents.

// minSecret is the shortest HS256 secret accepted: RFC 7518 (3.2) requires
// a key at least as long as the hash output, 256 bits.
const minSecret = 32

// readSecret reads an HS256 secret file, dropping a trailing line ending.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jwt secret file: %w", err)
	}
	b = bytes.TrimRight(b, "\r\n")
	switch {
	case len(b) == 0:
		return nil, fmt.Errorf("jwt secret file %s is empty", path)
	case len(b) < minSecret:
		return nil, fmt.Errorf("jwt secret file %s holds %d bytes; HS256 needs at least %d", path, len(b), minSecret)
	}
	return b, nil
}

// readPublicKey reads the first PEM block of path, a public key (PKIX or
// PKCS #1) or a certificate, and returns the key with the one algorithm it
// verifies.
func readPublicKey(path string) (key any, alg string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("jwt public key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, "", fmt.Errorf("jwt public key %s: no PEM block", path)
	}
	pub, err := parsePublicBlock(block)
	if err != nil {
		return nil, "", fmt.Errorf("jwt public key %s: %w", path, err)
	}
	alg, err = algorithmFor(pub)
	if err != nil {
		return nil, "", fmt.Errorf("jwt public key %s: %w", path, err)
	}
	return pub, alg, nil
}

func parsePublicBlock(block *pem.Block) (any, error) {
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
}

// algorithmFor names the JWT algorithm a public key verifies, or refuses
// a key JWT mode does not use.
func algorithmFor(pub any) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jwt.SigningMethodRS256.Alg(), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("ECDSA curve %s is not supported (ES256 needs P-256)", k.Curve.Params().Name)
		}
		return jwt.SigningMethodES256.Alg(), nil
	case ed25519.PublicKey:
		return jwt.SigningMethodEdDSA.Alg(), nil
	}
	return "", fmt.Errorf("key type %T is not supported (RSA, ECDSA P-256 or Ed25519)", pub)
}
