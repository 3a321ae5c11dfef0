package auth

import (
	"errors"
	"time"
)

// Identity is who a verified credential speaks for.
type Identity struct {
	// User is the folded, valid user name.
	User string
	// TokenID identifies the credential for revocation: the token's hash in
	// accounts mode. It is empty for credentials the server cannot revoke
	// (JWTs, and version 1's bare user names), and never the token itself.
	TokenID string
}

// Verifier turns a presented credential into an identity. Verify returns
// ErrUnauthorized for a credential that is missing, malformed, unknown,
// expired or revoked; any other error is the server's own failure.
type Verifier interface {
	Verify(credential string) (Identity, error)
}

// Grant is what registering or logging in returns: the user's folded name
// and a fresh token, valid until Expires unless revoked.
type Grant struct {
	User    string
	Token   string
	Expires time.Time
}

// The refusals of this package. The edge maps each to the protocol's error
// code and HTTP status; they are compared with errors.Is.
var (
	// ErrUnauthorized: the credential is missing, unknown, expired or revoked.
	ErrUnauthorized = errors.New("auth: bad or missing credentials")
	// ErrBadCredentials: a login's name and password do not match an account.
	// It reads the same whether or not the name exists.
	ErrBadCredentials = errors.New("auth: name or password is wrong")
	// ErrInvalidName: the name breaks the protocol's naming rules.
	ErrInvalidName = errors.New("auth: invalid user name")
	// ErrWeakPassword: the password is outside 8 to 1024 bytes of UTF-8.
	ErrWeakPassword = errors.New("auth: password must be 8 to 1024 bytes of UTF-8")
	// ErrNameTaken: an account with that name exists.
	ErrNameTaken = errors.New("auth: name taken")
	// ErrRegistrationClosed: self-registration is off.
	ErrRegistrationClosed = errors.New("auth: registration is closed")
	// ErrDisabled: the account exists and the password is right, but the
	// operator disabled it.
	ErrDisabled = errors.New("auth: account disabled")
	// ErrBusy: every password-hashing slot is taken and the queue is full;
	// the caller should try again shortly (HTTP 503).
	ErrBusy = errors.New("auth: too many logins at once")
)

// RateLimitedError refuses an attempt made past a limit. RetryAfter says
// when the limit allows the next one.
type RateLimitedError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitedError) Error() string {
	return "auth: too many attempts; retry after " + e.RetryAfter.Round(time.Second).String()
}
