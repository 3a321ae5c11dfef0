package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// Service keeps accounts (the server's `accounts` mode): it registers
// users, checks passwords, issues, verifies and revokes tokens, and carries
// out the operator's commands (operator.go). It is a Verifier.
//
// Every refusal is one of the package's errors (auth.go), so that the edge
// can answer with the protocol's code; any other error is the server's own
// failure. Methods that hash a password take a context: a request that
// waits for a hashing slot stops waiting when its client goes away.
type Service struct {
	// set at construction
	cfg     Config
	store   store.Accounts
	log     *slog.Logger
	pool    *hashPool
	perIP   *limiter // registrations and logins per client address; nil: off
	perName *limiter // failed logins per name
	// dummy is the hash of a random password, checked when a login names
	// no account, so that "no such name" costs what "wrong password" does.
	dummy string
}

var _ Verifier = (*Service)(nil)

// New returns a service over cfg.Store. It hashes one password (the dummy)
// before returning, with cfg.Params.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dummyPassword, _ := newToken()
	return &Service{
		cfg: cfg, store: cfg.Store, log: cfg.Logger,
		pool:    newHashPool(cfg.HashWorkers, cfg.HashQueue),
		perIP:   newLimiter(cfg.IPAttempts, ipWindow, cfg.LimiterKeys),
		perName: newLimiter(cfg.NameFailures, cfg.NameWindow, cfg.LimiterKeys),
		dummy:   hashPassword(cfg.Params, dummyPassword),
	}, nil
}

// HashStats describes the password-hashing pool now.
func (s *Service) HashStats() HashStats { return s.pool.stats() }

// Register creates the account name (folded) with password and signs it
// in, for a client at ip. Refusals: ErrRegistrationClosed, a
// *RateLimitedError, ErrInvalidName, ErrWeakPassword, ErrNameTaken, ErrBusy.
func (s *Service) Register(ctx context.Context, ip, name, password string) (Grant, error) {
	if s.cfg.RegistrationClosed {
		return Grant{}, ErrRegistrationClosed
	}
	if err := s.attempt(ip); err != nil {
		return Grant{}, err
	}
	user, hash, err := s.newAccount(ctx, name, password, false)
	if err != nil {
		return Grant{}, err
	}
	s.log.Info("account registered", "user", user, "ip", ip)
	return s.issue(user, hash)
}

// Login signs name in with password, for a client at ip. Refusals: a
// *RateLimitedError, ErrBadCredentials (the same whether or not the name
// exists, and after about the same time), ErrDisabled (only with the right
// password), ErrBusy.
func (s *Service) Login(ctx context.Context, ip, name, password string) (Grant, error) {
	if err := s.attempt(ip); err != nil {
		return Grant{}, err
	}
	user, ok := wire.FoldName(name)
	if !ok || !validPassword(password) {
		return Grant{}, ErrBadCredentials // no account has such a name or password
	}
	acct, err := s.checkLimited(ctx, user, password)
	switch {
	case err != nil:
		s.log.Debug("login refused", "user", user, "ip", ip, "err", err)
		return Grant{}, err
	case acct.Disabled:
		return Grant{}, ErrDisabled
	}
	return s.issue(user, acct.PasswordHash)
}

// ChangePassword changes the password of the user token speaks for, from
// old to next, and revokes every other token of the user (RevokeAllBut).
// Refusals: ErrUnauthorized (the token), ErrWeakPassword (next),
// ErrBadCredentials (old), a *RateLimitedError (too many wrong old
// passwords: they count as failed logins), ErrBusy.
func (s *Service) ChangePassword(ctx context.Context, token, old, next string) error {
	id, err := s.Verify(token)
	if err != nil {
		return err
	}
	if !validPassword(next) {
		return ErrWeakPassword
	}
	acct, err := s.checkLimited(ctx, id.User, old)
	if err != nil {
		return err
	}
	hash, err := s.hash(ctx, next, false)
	if err != nil {
		return err
	}
	change := store.PasswordChange{Name: id.User, Hash: hash, Expect: acct.PasswordHash, KeepToken: id.TokenID}
	err = wait(func(done func(error)) { s.store.SetPassword(change, done) })
	switch {
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
		return ErrBadCredentials // reset or disabled meanwhile
	case err != nil:
		return fmt.Errorf("auth: changing a password: %w", err)
	}
	s.log.Info("password changed", "user", id.User)
	s.revoked(Revocation{User: id.User, Scope: RevokeAllBut, TokenID: id.TokenID})
	return nil
}

// attempt counts a registration or login from ip against the address's
// limit.
func (s *Service) attempt(ip string) error {
	if wait, ok := s.perIP.take(ipKey(ip), s.cfg.Clock()); !ok {
		return &RateLimitedError{RetryAfter: wait}
	}
	return nil
}

// checkLimited checks user's password under the per-name limit of failed
// logins: past it, the password is not even checked. Only a wrong
// password counts.
func (s *Service) checkLimited(ctx context.Context, user, password string) (*chatpb.Account, error) {
	now := s.cfg.Clock()
	if wait, ok := s.perName.take(user, now); !ok {
		return nil, &RateLimitedError{RetryAfter: wait}
	}
	acct, err := s.check(ctx, user, password)
	if !errors.Is(err, ErrBadCredentials) {
		s.perName.give(user, now)
	}
	return acct, err
}

// check returns user's account if password is its password, and
// ErrBadCredentials otherwise. Without an account it checks the password
// against the dummy hash, so that both refusals cost one hash.
func (s *Service) check(ctx context.Context, user, password string) (*chatpb.Account, error) {
	acct, err := s.store.Account(user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("auth: reading an account: %w", err)
	}
	phc := s.dummy
	if acct != nil {
		phc = acct.PasswordHash
	}
	var match bool
	var verr error
	if err := s.pool.run(ctx, false, func() { match, verr = verifyPassword(phc, password) }); err != nil {
		return nil, err
	}
	switch {
	case verr != nil:
		return nil, fmt.Errorf("auth: the password hash of %q: %w", user, verr)
	case acct == nil || !match:
		return nil, ErrBadCredentials
	}
	return acct, nil
}

// hash hashes password in a slot of the pool.
func (s *Service) hash(ctx context.Context, password string, trusted bool) (string, error) {
	var h string
	err := s.pool.run(ctx, trusted, func() { h = hashPassword(s.cfg.Params, password) })
	return h, err
}

// newAccount checks name and password, hashes the password and creates
// the account, returning the folded name and the hash.
func (s *Service) newAccount(ctx context.Context, name, password string, trusted bool) (user, hash string, err error) {
	user, ok := wire.FoldName(name)
	switch {
	case !ok:
		return "", "", ErrInvalidName
	case !validPassword(password):
		return "", "", ErrWeakPassword
	}
	// A cheap early answer for a taken name, before the costly hash; the
	// write below checks again, atomically.
	if _, err := s.store.Account(user); !errors.Is(err, store.ErrNotFound) {
		return "", "", takenOr(err)
	}
	if hash, err = s.hash(ctx, password, trusted); err != nil {
		return "", "", err
	}
	acct := &chatpb.Account{Name: user, PasswordHash: hash, CreatedUnixMs: s.cfg.Clock().UnixMilli()}
	if err := wait(func(done func(error)) { s.store.CreateAccount(acct, done) }); err != nil {
		return "", "", takenOr(err)
	}
	return user, hash, nil
}

// takenOr maps a store's answer about an existing account: nil (it was
// read) or ErrExists is ErrNameTaken, anything else a failure.
func takenOr(err error) error {
	if err == nil || errors.Is(err, store.ErrExists) {
		return ErrNameTaken
	}
	return fmt.Errorf("auth: creating an account: %w", err)
}

// wait makes one store write and returns its outcome. The store calls done
// exactly once, also when it is closed, so this always returns.
func wait(write func(done func(error))) error {
	ch := make(chan error, 1)
	write(func(err error) { ch <- err })
	return <-ch
}
