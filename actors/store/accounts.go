package store

import (
	"errors"

	"github.com/actorchat/chat/proto/chatpb"
)

// Accounts keeps the accounts of protocol version 2 and the tokens issued to
// them. Package auth is its only user; the actors never read it. Memory,
// Bolt and Postgres implement it, with the concurrency contract of the package
// (doc.go): reads are synchronous and return copies the caller owns, writes
// are asynchronous and report through their done callback, in submission
// order.
//
// The rules that keep tokens honest are checked inside the write, where no
// concurrent write can slip between the check and the change: an account is
// created only if its name is free, a token is issued only against the
// password it was verified with, and changing a password or disabling an
// account deletes the user's tokens in the same write.
type Accounts interface {
	// Account returns the account called name, or ErrNotFound.
	Account(name string) (*chatpb.Account, error)
	// ListAccounts returns every account, sorted by name.
	ListAccounts() ([]*chatpb.Account, error)
	// CreateAccount stores a, failing with ErrExists when the name is
	// taken. The same write makes the name known to the chat, as AddUser
	// does: a private message may go to any account.
	CreateAccount(a *chatpb.Account, done func(error))
	// SetPassword changes an account's password hash and deletes its
	// tokens, all but c.KeepToken, in one write (see PasswordChange).
	SetPassword(c PasswordChange, done func(error))
	// SetDisabled disables or enables the account called name (ErrNotFound
	// if there is none). Disabling deletes all of its tokens in the same
	// write.
	SetDisabled(name string, disabled bool, done func(error))

	// Token returns the token whose id is id, or ErrNotFound when there is
	// none or it has expired at nowMs.
	Token(id string, nowMs int64) (*chatpb.TokenRecord, error)
	// Tokens returns user's tokens that have not expired at nowMs, in no
	// particular order.
	Tokens(user string, nowMs int64) ([]*chatpb.TokenRecord, error)
	// PutToken stores t if t.User has an account that is enabled and whose
	// password hash is still passwordHash, the hash the password was
	// verified against: ErrNotFound without an account, ErrStale when the
	// password changed or the account was disabled since. Tokens that have
	// expired by the store's clock are deleted in the same write.
	PutToken(t *chatpb.TokenRecord, passwordHash string, done func(error))
	// DeleteToken deletes the token whose id is id; an unknown id is not an
	// error.
	DeleteToken(id string, done func(error))
	// DeleteTokens deletes every token of user except the one whose id is
	// except ("" deletes them all).
	DeleteTokens(user, except string, done func(error))
}

// PasswordChange is a SetPassword write.
type PasswordChange struct {
	// Name is the account's name; ErrNotFound if there is none.
	Name string
	// Hash is the new password hash.
	Hash string
	// Expect, when set, makes the write fail with ErrStale unless the
	// current hash is still Expect and the account is enabled: a user's
	// change, checked against the old password, must not undo an
	// operator's reset or disabling made meanwhile. Empty changes the
	// password whatever it was (the operator's reset).
	Expect string
	// KeepToken is the id of the one token that survives (the user's
	// change, made with that token); "" deletes every token of the user.
	KeepToken string
}

// The refusals of account writes, compared with errors.Is.
var (
	// ErrNotFound: no such account, or no such token (or it has expired).
	ErrNotFound = errors.New("store: not found")
	// ErrExists: an account with that name exists.
	ErrExists = errors.New("store: account exists")
	// ErrStale: the account changed (password, disabled) since the caller
	// read it; the write was not made.
	ErrStale = errors.New("store: account changed meanwhile")
)

// pruneLimit bounds the expired tokens one PutToken deletes, so that a
// write after a long downtime does not grow into one huge transaction; each
// issued token prunes up to this many, so pruning outpaces issuing.
const pruneLimit = 1000

// The implementations keep accounts.
var (
	_ Accounts = (*Memory)(nil)
	_ Accounts = (*Bolt)(nil)
	_ Accounts = (*Postgres)(nil)
)

// validAccount reports why a cannot be created, or nil.
func validAccount(a *chatpb.Account) error {
	switch {
	case a == nil || a.GetName() == "":
		return errEmptyUser
	case a.GetPasswordHash() == "":
		return errors.New("store: account without password hash")
	}
	return nil
}

// validToken reports why t cannot be stored, or nil.
func validToken(t *chatpb.TokenRecord) error {
	switch {
	case t == nil || t.GetId() == "":
		return errors.New("store: token without id")
	case t.GetUser() == "":
		return errEmptyUser
	}
	return nil
}

// validChange reports why c cannot be applied, or nil.
func validChange(c PasswordChange) error {
	switch {
	case c.Name == "":
		return errEmptyUser
	case c.Hash == "":
		return errors.New("store: password change without hash")
	}
	return nil
}

// checkIssue reports whether a token may be issued to account a against
// the password hash it was verified with.
func checkIssue(a *chatpb.Account, passwordHash string) error {
	switch {
	case a == nil:
		return ErrNotFound
	case a.Disabled || a.PasswordHash != passwordHash:
		return ErrStale
	}
	return nil
}

// checkChange reports whether c may be applied to account a.
func checkChange(a *chatpb.Account, c PasswordChange) error {
	switch {
	case a == nil:
		return ErrNotFound
	case c.Expect != "" && (a.Disabled || a.PasswordHash != c.Expect):
		return ErrStale
	}
	return nil
}
