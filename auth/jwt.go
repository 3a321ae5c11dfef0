package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/actorchat/chat/proto/wire"
)

// JWTLeeway is how far the server's clock may disagree with the issuer's:
// a token is accepted up to this long after its exp, and this long before
// its nbf or iat. Without it, a token used the moment it is issued by a
// service whose clock runs a second ahead would be refused as "used before
// issued"; 30 s covers NTP-synchronised machines with room to spare while
// extending a stolen token's life by no more than that.
const JWTLeeway = 30 * time.Second

// JWTConfig configures JWT mode's verifier. Exactly one of SecretFile and
// PublicKeyFile is set.
type JWTConfig struct {
	// SecretFile holds the HS256 shared secret: the file's bytes, without
	// a trailing line ending (so that `echo secret > file` works). RFC 7518
	// asks for at least 256 bits, so a shorter secret is refused.
	SecretFile string
	// PublicKeyFile is a PEM public key (or a certificate carrying one): an
	// RSA key verifies RS256, an ECDSA P-256 key ES256, an Ed25519 key
	// EdDSA. Only the algorithm matching the key is accepted.
	PublicKeyFile string
	// Audience, when set, must be among the token's aud values.
	Audience string
	// Clock tells the time that exp, nbf and iat are compared with.
	// Default: time.Now.
	Clock func() time.Time
}

// JWTVerifier verifies JWTs signed by another service (JWT mode). It holds
// no state beyond its configuration, so it is safe for concurrent use.
type JWTVerifier struct {
	key    any // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	parser *jwt.Parser
}

// NewJWTVerifier reads the configured key. A missing, unreadable or empty
// file, or a key of a type JWT mode does not use, fails here with a
// one-line error, so that a misconfigured server does not start.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	key, alg, err := loadJWTKey(cfg)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{alg}), // refuses none and algorithm confusion
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(JWTLeeway),
		jwt.WithTimeFunc(clock),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &JWTVerifier{key: key, parser: jwt.NewParser(opts...)}, nil
}

// loadJWTKey reads the one configured key and names the algorithm it
// verifies.
func loadJWTKey(cfg JWTConfig) (key any, alg string, err error) {
	switch {
	case cfg.SecretFile != "" && cfg.PublicKeyFile != "":
		return nil, "", errors.New("jwt: set a secret file or a public key file, not both")
	case cfg.SecretFile != "":
		secret, err := readSecret(cfg.SecretFile)
		return secret, jwt.SigningMethodHS256.Alg(), err
	case cfg.PublicKeyFile != "":
		return readPublicKey(cfg.PublicKeyFile)
	}
	return nil, "", errors.New("jwt: a secret file or a public key file is required")
}

// Verify checks the token's signature and claims and returns the user its
// sub names. Every refusal is ErrUnauthorized, wrapped with a fixed reason
// for the logs; neither the token nor any part of it is ever in the error.
func (v *JWTVerifier) Verify(token string) (Identity, error) {
	var claims jwt.RegisteredClaims
	if _, err := v.parser.ParseWithClaims(token, &claims, v.keyFor); err != nil {
		return Identity{}, refuse(jwtReason(err))
	}
	if claims.Subject == "" {
		return Identity{}, refuse("jwt: no sub")
	}
	user, ok := wire.FoldName(claims.Subject)
	if !ok {
		return Identity{}, refuse("jwt: sub is not a valid user name")
	}
	return Identity{User: user}, nil
}

// keyFor hands the parser the configured key. The parser has already
// refused any algorithm but the key's (WithValidMethods).
func (v *JWTVerifier) keyFor(*jwt.Token) (any, error) {
	return v.key, nil
}

func refuse(reason string) error {
	return fmt.Errorf("%w (%s)", ErrUnauthorized, reason)
}

// jwtReasons names the parser's refusals, most specific first. They are
// fixed strings rather than the parser's own messages, which may quote
// parts of what they failed to decode.
var jwtReasons = []struct {
	err    error
	reason string
}{
	{jwt.ErrTokenExpired, "jwt: expired"},
	{jwt.ErrTokenNotValidYet, "jwt: not valid yet (nbf)"},
	{jwt.ErrTokenUsedBeforeIssued, "jwt: issued in the future (iat)"},
	{jwt.ErrTokenInvalidAudience, "jwt: wrong audience"},
	{jwt.ErrTokenRequiredClaimMissing, "jwt: a required claim (exp or aud) is missing"},
	{jwt.ErrTokenSignatureInvalid, "jwt: bad signature or algorithm"},
	{jwt.ErrTokenMalformed, "jwt: malformed"},
	{jwt.ErrTokenUnverifiable, "jwt: unverifiable"},
	{jwt.ErrTokenInvalidClaims, "jwt: invalid claims"},
}

func jwtReason(err error) string {
	for _, r := range jwtReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "jwt: refused"
}
