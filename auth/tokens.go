package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// maxTokenLen is the protocol's bound on a token's length; ours are 43
// characters, and the bound leaves room to change their form.
const maxTokenLen = 512

// tokenBytes is the randomness of a token: 256 bits, beyond guessing.
const tokenBytes = 32

// newToken returns a fresh token (32 random bytes, base64url without
// padding) and its id.
func newToken() (token, id string) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenID(token)
}

// tokenID is the id a token is stored under: its SHA-256, in hex. A fast
// hash is enough: the token is random, not a password to guess.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether s can be a token: 1 to 512 characters of the
// URL-safe base64 alphabet. Anything else is refused without a lookup.
func wellFormed(s string) bool {
	if len(s) == 0 || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// Verify implements Verifier: a token the service issued, not revoked and
// not expired, speaks for its user.
func (s *Service) Verify(credential string) (Identity, error) {
	if !wellFormed(credential) {
		return Identity{}, ErrUnauthorized
	}
	rec, err := s.store.Token(tokenID(credential), s.cfg.Clock().UnixMilli())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Identity{}, ErrUnauthorized
	case err != nil:
		return Identity{}, fmt.Errorf("auth: reading a token: %w", err)
	}
	return Identity{User: rec.User, TokenID: rec.Id}, nil
}

// issue stores a fresh token for user, who has just proved the password
// whose hash is passwordHash, and returns it. A password changed or an
// account disabled since the proof refuses it (ErrBadCredentials).
func (s *Service) issue(user, passwordHash string) (Grant, error) {
	token, id := newToken()
	now := s.cfg.Clock()
	exp := now.Add(s.cfg.TokenTTL).UnixMilli()
	rec := &chatpb.TokenRecord{Id: id, User: user, CreatedUnixMs: now.UnixMilli(), ExpiresUnixMs: exp}
	err := wait(func(done func(error)) { s.store.PutToken(rec, passwordHash, done) })
	switch {
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
		return Grant{}, ErrBadCredentials
	case err != nil:
		return Grant{}, fmt.Errorf("auth: storing a token: %w", err)
	}
	return Grant{User: user, Token: token, Expires: time.UnixMilli(exp).UTC()}, nil
}

// Logout revokes token (RevokeOne). A token that does not verify is
// ErrUnauthorized.
func (s *Service) Logout(token string) error {
	id, err := s.Verify(token)
	if err != nil {
		return err
	}
	if err := wait(func(done func(error)) { s.store.DeleteToken(id.TokenID, done) }); err != nil {
		return fmt.Errorf("auth: deleting a token: %w", err)
	}
	s.revoked(Revocation{User: id.User, Scope: RevokeOne, TokenID: id.TokenID})
	return nil
}

// revoked logs a durable revocation and reports it to Config.OnRevoke.
func (s *Service) revoked(r Revocation) {
	level := slog.LevelInfo
	if r.Scope == RevokeOne {
		level = slog.LevelDebug // a logout: everyday
	}
	s.log.Log(context.Background(), level, "tokens revoked", "user", r.User, "scope", scopeName(r.Scope))
	if s.cfg.OnRevoke != nil {
		s.cfg.OnRevoke(r)
	}
}

// scopeName is a scope as a log value.
func scopeName(sc Scope) string {
	switch sc {
	case RevokeOne:
		return "one"
	case RevokeAll:
		return "all"
	case RevokeAllBut:
		return "all_but_current"
	}
	return "unknown"
}
