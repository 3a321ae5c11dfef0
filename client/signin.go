package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Prompter asks the user things at a terminal. Each call blocks until the
// user has answered; an error (io.EOF for Ctrl-C or Ctrl-D) means the user
// gave up.
type Prompter interface {
	// Password shows prompt and reads a line without echoing it.
	Password(prompt string) (string, error)
	// Line shows prompt and reads a line, echoed.
	Line(prompt string) (string, error)
	// Say shows one line.
	Say(text string)
}

// Asker runs dialogs with the user: Ask hands dialog a Prompter for as
// long as it runs, with the chat's own input and output paused, and
// returns what dialog returns, or ctx's error when ctx ends first. It may
// be called from any goroutine but the one that reads the chat's input.
type Asker interface {
	Ask(ctx context.Context, dialog func(Prompter) error) error
}

// maxAttempts bounds how often a dialog asks again before it gives up.
const maxAttempts = 3

// Password length limits of the protocol, in bytes of UTF-8.
const (
	minPassword = 8
	maxPassword = 1024
)

// signInDialog signs the user in at a terminal. The login comes first; a
// login refused as bad_credentials reads the same whether the name has no
// account or the password is wrong, so the dialog says exactly that and
// offers, once, to create the account. Only the server's name_taken, when
// registering, tells that the account exists. With Register set it offers
// the registration first.
type signInDialog struct {
	cr      *credentials
	p       Prompter
	offered bool // the user has been offered an account
}

// run signs in and returns the grant, a *SignInError, or
// errSignInCancelled when the user gave up.
func (d *signInDialog) run(ctx context.Context) (Grant, error) {
	d.p.Say("signing in to " + d.cr.server + " as " + d.cr.user)
	if d.cr.register {
		d.offered = true
		return d.registerAccount(ctx)
	}
	return d.login(ctx)
}

// login asks for the password and logs in. Enter alone asks for the
// account to be created, at once; after a refusal the dialog offers it
// once, since the refusal cannot tell a missing account from a wrong
// password.
func (d *signInDialog) login(ctx context.Context) (Grant, error) {
	user := d.cr.user
	for range maxAttempts {
		password, err := d.p.Password("password for " + user + " (Enter alone to create the account): ")
		if err != nil {
			return Grant{}, errSignInCancelled
		}
		if password == "" {
			d.offered = true
			return d.registerAccount(ctx)
		}
		g, err := d.cr.api.Login(ctx, user, password)
		if !IsAPIError(err, APIBadCredentials) {
			return g, d.cr.loginFailure(err)
		}
		if d.offered {
			d.p.Say("no account " + user + " or wrong password")
			continue
		}
		d.offered = true
		yes, err := confirm(d.p, "no account "+user+" or wrong password: create account "+user+"? [y/N] ")
		if err != nil {
			return Grant{}, errSignInCancelled
		}
		if yes {
			return d.registerAccount(ctx)
		}
	}
	return Grant{}, &SignInError{Reason: "sign-in failed: no account " + user + " or wrong password"}
}

// registerAccount asks for a new password, twice, and creates the account;
// if the name is taken it goes on to log in.
func (d *signInDialog) registerAccount(ctx context.Context) (Grant, error) {
	user := d.cr.user
	for range maxAttempts {
		password, err := newPassword(d.p, "choose a password for "+user)
		if err != nil {
			return Grant{}, errSignInCancelled
		}
		if password == "" {
			continue
		}
		g, err := d.cr.api.Register(ctx, user, password)
		switch {
		case err == nil:
			d.p.Say("created the account " + user)
			return g, nil
		case IsAPIError(err, APIWeakPassword):
			d.p.Say(err.Error())
			continue
		case IsAPIError(err, APINameTaken):
			d.p.Say(user + " has an account already: sign in with its password")
			return d.login(ctx)
		}
		return Grant{}, d.cr.registerFailure(err)
	}
	return Grant{}, &SignInError{Reason: "cannot create the account " + user + ": no acceptable password given"}
}

// newPassword asks for a new password and again to confirm it. It returns
// "" (having said why) when the two differ or the password is outside the
// protocol's limits, and an error when the user gave up.
func newPassword(p Prompter, what string) (string, error) {
	password, err := p.Password(what + " (at least 8 characters): ")
	if err != nil {
		return "", err
	}
	again, err := p.Password("the same password again: ")
	if err != nil {
		return "", err
	}
	switch {
	case password != again:
		p.Say("the two passwords differ")
		return "", nil
	case len(password) < minPassword || len(password) > maxPassword || !utf8.ValidString(password):
		p.Say("a password is 8 to 1024 bytes of text")
		return "", nil
	}
	return password, nil
}

// confirm asks a yes/no question whose default is no.
func confirm(p Prompter, question string) (bool, error) {
	answer, err := p.Line(question)
	if err != nil {
		return false, err
	}
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes", nil
}

// errSignInCancelled ends a sign-in dialog the user gave up (Ctrl-C,
// Ctrl-D): an interruption, like the signal would be.
var errSignInCancelled = fmt.Errorf("sign-in cancelled: %w", context.Canceled)

// errPasswordUnchanged ends a /passwd dialog that the user gave up.
var errPasswordUnchanged = errors.New("password not changed")

// changePasswordDialog asks for the current password and a new one, twice.
func changePasswordDialog(p Prompter) (old, next string, err error) {
	old, err = p.Password("current password: ")
	if err != nil {
		return "", "", errPasswordUnchanged
	}
	for range maxAttempts {
		next, err = newPassword(p, "new password")
		if err != nil {
			return "", "", errPasswordUnchanged
		}
		if next != "" {
			return old, next, nil
		}
	}
	return "", "", errPasswordUnchanged
}
