package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// SignInError ends a run whose credentials the server does not take and
// the client cannot renew: the server answered 401 and there is no
// password to log in with, the login was refused, a token given with
// Config.Token was refused, or the server answered 403 (the token names
// another user). Reason is one line for the user; it never holds a
// password or token. cmd/chat exits with its own code for it.
type SignInError struct {
	Reason string
}

// Error returns the reason.
func (e *SignInError) Error() string { return e.Reason }

// ErrRevoked is returned by Run when the server closed the connection with
// code 4003: the token it was opened with was revoked (a logout, a password
// change elsewhere, or the account was disabled). The client does not
// reconnect, and the revoked token is no longer cached.
var ErrRevoked = errors.New("signed out: your credentials were revoked (logout, password change, or the account was disabled)")

// Version 2 of the protocol (docs/protocol.md): the close code and the
// error code that end a connection whose token was revoked.
const (
	closeRevoked           = 4003
	codeCredentialsRevoked = "credentials_revoked"
)

// credentials holds the token a client presents at the upgrade and gets a
// new one when the server refuses it: from the cache, by logging in with a
// password the configuration supplies, or by asking the user (asker). With
// none of those configured it presents no token, as version 1 does, which
// is all a server in none mode asks.
//
// Safe for concurrent use: the Run goroutine reads the token and renews
// it, the user interface's goroutine logs out and changes the password.
// mu guards the token; it is never held across a network call or a
// dialog.
type credentials struct {
	// Set at construction.
	api      *API
	cache    *TokenCache // nil: tokens are not saved
	server   string      // the cache's key for the server
	user     string      // folded
	given    bool        // the token came with the configuration: used as is
	password func() (string, error)
	register bool
	logger   *slog.Logger
	notify   func(string) // a local notice, through the client

	// Set before Run starts, by the user interface that can ask.
	asker Asker

	mu     sync.Mutex
	token  string // presented at the next upgrade; empty for none
	loaded bool   // the cache has been read
	minted string // the token the latest sign-in got, until an upgrade accepts it
}

// newCredentials returns the credentials cfg (with defaults) describes.
func newCredentials(cfg Config, notify func(string)) (*credentials, error) {
	base, err := APIBase(cfg.Server)
	if err != nil {
		return nil, err
	}
	server, err := cfg.serverKey()
	if err != nil {
		return nil, err
	}
	cr := &credentials{
		api:    &API{Base: base, HTTP: cfg.httpClient()},
		server: server, user: cfg.User, password: cfg.Password, register: cfg.Register,
		logger: cfg.Logger, notify: notify,
		token: cfg.Token, given: cfg.Token != "",
	}
	if cfg.TokenDir != "" && !cr.given {
		cr.cache = &TokenCache{Dir: cfg.TokenDir, Now: cfg.Now}
	}
	return cr, nil
}

// current returns the token to present at the next upgrade, reading the
// cache the first time.
func (cr *credentials) current() string {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if !cr.loaded && cr.cache != nil {
		if g, ok := cr.cache.Load(cr.server, cr.user); ok {
			cr.token = g.Token
		}
	}
	cr.loaded = true
	return cr.token
}

// hasToken reports whether the client presents a token.
func (cr *credentials) hasToken() bool {
	return cr.current() != ""
}

// rejected is called from Run when the server answered 401 to an upgrade
// that presented token (empty: none). It drops that token and gets a new
// one; nil means dial again with it, an error ends Run.
func (cr *credentials) rejected(ctx context.Context, token string) error {
	if cr.given {
		return &SignInError{Reason: "the server did not accept the token given with -token or CHAT_TOKEN (expired, revoked, or not for this server)"}
	}
	if token != "" && token == cr.lastMinted() {
		return &SignInError{Reason: "the server did not accept the token it had just issued"}
	}
	if token != "" {
		cr.drop(token)
		cr.notify("the server no longer accepts the saved sign-in for " + cr.user + " (expired or revoked)")
	}
	g, err := cr.signIn(ctx)
	if err != nil {
		return err
	}
	cr.adopt(g)
	cr.notify("signed in as " + cr.user)
	return nil
}

// revoked drops token after the server closed its connection with 4003.
func (cr *credentials) revoked(token string) {
	if token != "" && !cr.given {
		cr.drop(token)
	}
}

// signIn gets a grant: by asking the user when an interface can ask and
// no password is configured, otherwise with the configured password.
func (cr *credentials) signIn(ctx context.Context) (Grant, error) {
	switch {
	case cr.password != nil:
		return cr.scriptedSignIn(ctx)
	case cr.asker != nil:
		var g Grant
		err := cr.asker.Ask(ctx, func(p Prompter) error {
			var err error
			g, err = (&signInDialog{cr: cr, p: p}).run(ctx)
			return err
		})
		return g, err
	}
	return Grant{}, &SignInError{Reason: fmt.Sprintf(
		"this server needs you to sign in as %s: set CHAT_PASSWORD or -password-file (with -register to create the account), or CHAT_TOKEN", cr.user)}
}

// scriptedSignIn logs in with the configured password and, when that
// fails and Register is set, creates the account with it.
func (cr *credentials) scriptedSignIn(ctx context.Context) (Grant, error) {
	password, err := cr.password()
	if err != nil {
		return Grant{}, err
	}
	g, err := cr.api.Login(ctx, cr.user, password)
	if !IsAPIError(err, APIBadCredentials) || !cr.register {
		return g, cr.loginFailure(err)
	}
	g, err = cr.api.Register(ctx, cr.user, password)
	if IsAPIError(err, APINameTaken) {
		return Grant{}, &SignInError{Reason: "sign-in failed: " + cr.user + " has an account and the password is wrong"}
	}
	if err == nil {
		cr.notify("created the account " + cr.user)
	}
	return g, cr.registerFailure(err)
}

// loginFailure words a failed login for the user; nil stays nil.
func (cr *credentials) loginFailure(err error) error {
	switch {
	case err == nil:
		return nil
	case IsAPIError(err, APIBadCredentials):
		return &SignInError{Reason: "sign-in failed: no account " + cr.user + " or wrong password (-register creates the account)"}
	case IsAPIError(err, APIAccountDisabled):
		return &SignInError{Reason: "sign-in failed: the account " + cr.user + " is disabled"}
	}
	return cr.apiFailure("sign-in failed", err)
}

// registerFailure words a failed registration for the user; nil stays nil.
func (cr *credentials) registerFailure(err error) error {
	switch {
	case err == nil:
		return nil
	case IsAPIError(err, APIRegistrationClosed):
		return &SignInError{Reason: "cannot create the account " + cr.user + ": this server does not let users register; ask its operator"}
	case IsAPIError(err, APIWeakPassword), IsAPIError(err, APIInvalidName):
		return &SignInError{Reason: "cannot create the account " + cr.user + ": " + err.Error()}
	}
	return cr.apiFailure("cannot create the account "+cr.user, err)
}

// apiFailure words the failures any call can meet.
func (cr *credentials) apiFailure(what string, err error) error {
	var ae *APIError
	switch {
	case errors.Is(err, ErrNoAccounts):
		return &SignInError{Reason: "this server wants a token but keeps no accounts to sign in to: set CHAT_TOKEN or -token"}
	case errors.As(err, &ae) && ae.RetryAfter > 0:
		return &SignInError{Reason: fmt.Sprintf("%s: %s; try again in %s", what, err, ae.RetryAfter)}
	case errors.As(err, &ae):
		return &SignInError{Reason: what + ": " + err.Error()}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// adopt makes g's token the one presented, and saves it.
func (cr *credentials) adopt(g Grant) {
	cr.mu.Lock()
	cr.token, cr.minted, cr.loaded = g.Token, g.Token, true
	cr.mu.Unlock()
	if cr.cache == nil {
		return
	}
	g.User = cr.user
	if err := cr.cache.Save(cr.server, g); err != nil {
		cr.notify("could not save the sign-in for next time: " + err.Error())
	}
}

// drop forgets token, here and in the cache.
func (cr *credentials) drop(token string) {
	cr.mu.Lock()
	if cr.token == token {
		cr.token = ""
	}
	cr.mu.Unlock()
	if cr.cache == nil {
		return
	}
	if err := cr.cache.Forget(cr.server, cr.user, token); err != nil {
		cr.logger.Warn("could not remove a saved token", "err", err)
	}
}

// accepted records that an upgrade succeeded: a later 401 for the token
// the latest sign-in got (it expired, or the server forgot it) is cured by
// signing in again, not a server that refuses what it issues.
func (cr *credentials) accepted() {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.minted = ""
}

// lastMinted is the token the latest sign-in got, if no upgrade has
// accepted it yet.
func (cr *credentials) lastMinted() string {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.minted
}

// logout revokes the current token on the server and forgets it.
func (cr *credentials) logout(ctx context.Context) error {
	token := cr.current()
	if token == "" {
		return errors.New("not signed in: this server takes names without passwords")
	}
	err := cr.api.Logout(ctx, token)
	if errors.Is(err, ErrNoAccounts) {
		return errors.New("this server keeps no accounts, so it cannot sign a token out")
	}
	if err != nil && !IsAPIError(err, APIBadCredentials) { // 401: revoked already
		return err
	}
	cr.drop(token)
	return nil
}

// changePassword changes the account's password; the server keeps the
// current token and revokes the others, so the cache stays as it is.
func (cr *credentials) changePassword(ctx context.Context, old, next string) error {
	token := cr.current()
	if token == "" {
		return errors.New("not signed in: this server takes names without passwords")
	}
	err := cr.api.ChangePassword(ctx, token, old, next)
	switch {
	case errors.Is(err, ErrNoAccounts):
		return errors.New("this server keeps no accounts, so it has no password to change")
	case IsAPIError(err, APIBadCredentials):
		return errors.New("the current password is wrong, or this sign-in is no longer valid")
	}
	return err
}
