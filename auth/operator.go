package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/wire"
)

// The operator's commands, for the admin socket. They are trusted: no
// rate limit applies, self-registration being closed does not stop Create,
// and their hashes wait for a slot however long the queue.

// ErrNoAccount: the operator named an account that does not exist.
var ErrNoAccount = errors.New("auth: no such account")

// AccountInfo is one account as the operator's list shows it.
type AccountInfo struct {
	Name     string
	Created  time.Time
	Disabled bool
	// Tokens is the number of tokens of the account that are valid now.
	Tokens int
}

// Create makes an account and returns its folded name. Refusals:
// ErrInvalidName, ErrWeakPassword, ErrNameTaken.
func (s *Service) Create(ctx context.Context, name, password string) (string, error) {
	user, _, err := s.newAccount(ctx, name, password, true)
	if err != nil {
		return "", err
	}
	s.log.Info("account created by the operator", "user", user)
	return user, nil
}

// ResetPassword sets the password of the account name and revokes all of
// its tokens. Refusals: ErrInvalidName, ErrWeakPassword, ErrNoAccount.
func (s *Service) ResetPassword(ctx context.Context, name, password string) error {
	user, ok := wire.FoldName(name)
	switch {
	case !ok:
		return ErrInvalidName
	case !validPassword(password):
		return ErrWeakPassword
	}
	hash, err := s.hash(ctx, password, true)
	if err != nil {
		return err
	}
	err = wait(func(done func(error)) { s.store.SetPassword(store.PasswordChange{Name: user, Hash: hash}, done) })
	if err := noAccountOr(err, "resetting a password"); err != nil {
		return err
	}
	s.log.Info("password reset by the operator", "user", user)
	s.revoked(Revocation{User: user, Scope: RevokeAll})
	return nil
}

// Disable stops the account name from logging in and revokes all of its
// tokens. Refusals: ErrInvalidName, ErrNoAccount.
func (s *Service) Disable(name string) error {
	user, err := s.setDisabled(name, true)
	if err != nil {
		return err
	}
	s.revoked(Revocation{User: user, Scope: RevokeAll})
	return nil
}

// Enable lets a disabled account log in again. Refusals: ErrInvalidName,
// ErrNoAccount.
func (s *Service) Enable(name string) error {
	_, err := s.setDisabled(name, false)
	return err
}

// setDisabled folds name and sets its disabled flag.
func (s *Service) setDisabled(name string, disabled bool) (string, error) {
	user, ok := wire.FoldName(name)
	if !ok {
		return "", ErrInvalidName
	}
	err := wait(func(done func(error)) { s.store.SetDisabled(user, disabled, done) })
	if err := noAccountOr(err, "disabling or enabling an account"); err != nil {
		return "", err
	}
	s.log.Info("account changed by the operator", "user", user, "disabled", disabled)
	return user, nil
}

// RevokeAll revokes every token of the account name; it stays enabled.
// Refusals: ErrInvalidName, ErrNoAccount.
func (s *Service) RevokeAll(name string) error {
	user, ok := wire.FoldName(name)
	if !ok {
		return ErrInvalidName
	}
	if _, err := s.store.Account(user); err != nil {
		return noAccountOr(err, "reading an account")
	}
	if err := wait(func(done func(error)) { s.store.DeleteTokens(user, "", done) }); err != nil {
		return fmt.Errorf("auth: revoking tokens: %w", err)
	}
	s.revoked(Revocation{User: user, Scope: RevokeAll})
	return nil
}

// List returns every account, by name, with its count of valid tokens.
func (s *Service) List() ([]AccountInfo, error) {
	accts, err := s.store.ListAccounts()
	if err != nil {
		return nil, fmt.Errorf("auth: listing accounts: %w", err)
	}
	nowMs := s.cfg.Clock().UnixMilli()
	out := make([]AccountInfo, len(accts))
	for i, a := range accts {
		toks, err := s.store.Tokens(a.Name, nowMs)
		if err != nil {
			return nil, fmt.Errorf("auth: listing tokens: %w", err)
		}
		out[i] = AccountInfo{Name: a.Name, Created: time.UnixMilli(a.CreatedUnixMs).UTC(), Disabled: a.Disabled, Tokens: len(toks)}
	}
	return out, nil
}

// noAccountOr maps a store's ErrNotFound to ErrNoAccount and wraps any
// other error with what was being done.
func noAccountOr(err error, doing string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return ErrNoAccount
	}
	return fmt.Errorf("auth: %s: %w", doing, err)
}
