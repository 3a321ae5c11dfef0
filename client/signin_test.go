package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A version 2 server answers the first upgrade, with no token, 401; the
// client asks for the password, logs in, connects with the token, and
// saves it, 0600 in a 0700 directory.
func TestSignInAsksPasswordAndCachesToken(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	dir := testTokenDir(t)
	asker, p := newAsker("correct horse")
	_, events, _ := runClientAsking(t, signedInConfig(fs, dir), asker)

	fc := fs.accept()
	if fc.user != "alice" || fc.token == "" {
		t.Fatalf("connected as %q with token %q, want alice with a token", fc.user, fc.token)
	}
	nextEvent(t, events, "signed-in notice", func(ev Event) bool { return ev.Notice == "signed in as alice" })
	asked, _ := p.transcript()
	if len(asked) != 1 || asked[0] != "password: password for alice (Enter alone to create the account): " {
		t.Errorf("asked %q, want the password once", asked)
	}
	cached, ok := TokenCache{Dir: dir}.Load(serverKeyOf(t, fs), "alice")
	if !ok || cached.Token != fc.token {
		t.Errorf("cache holds %+v, want the token the connection used", cached)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Dir(dir), 0o700)
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("cache directory holds %d files, want 1", len(files))
	}
	assertMode(t, filepath.Join(dir, files[0].Name()), 0o600)
}

// A login refused as bad_credentials is followed by one offer to create
// the account, in words that do not say which of the two it was; yes asks
// for the new password twice and registers.
func TestSignInOffersToCreateAccount(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t, newFakeAuth())
	asker, p := newAsker("first try", "y", "brand new pw", "brand new pw")
	runClientAsking(t, signedInConfig(fs, testTokenDir(t)), asker)

	fc := fs.accept()
	if fc.user != "alice" {
		t.Fatalf("connected as %q", fc.user)
	}
	if got, want := strings.Join(fs.auth.callLog(), ", "), "login alice, register alice"; got != want {
		t.Errorf("API calls %q, want %q", got, want)
	}
	asked, said := p.transcript()
	want := []string{
		"password: password for alice (Enter alone to create the account): ",
		"line: no account alice or wrong password: create account alice? [y/N] ",
		"password: choose a password for alice (at least 8 characters): ",
		"password: the same password again: ",
	}
	if strings.Join(asked, "|") != strings.Join(want, "|") {
		t.Errorf("asked:\n%s\nwant:\n%s", strings.Join(asked, "\n"), strings.Join(want, "\n"))
	}
	if !contains(said, "created the account alice") {
		t.Errorf("said %q, want the account's creation", said)
	}
}

// Enter alone at the password prompt is asking for the account: the
// dialog goes straight to the new password, with no login and no second
// question (a newcomer who was asked one typed the password into it).
func TestSignInEnterAloneCreatesAccount(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t, newFakeAuth())
	asker, p := newAsker("", "brand new pw", "brand new pw")
	runClientAsking(t, signedInConfig(fs, testTokenDir(t)), asker)
	fs.accept()
	if got := strings.Join(fs.auth.callLog(), ", "); got != "register alice" {
		t.Errorf("API calls %q, want the registration alone", got)
	}
	want := []string{
		"password: password for alice (Enter alone to create the account): ",
		"password: choose a password for alice (at least 8 characters): ",
		"password: the same password again: ",
	}
	if asked, _ := p.transcript(); strings.Join(asked, "|") != strings.Join(want, "|") {
		t.Errorf("asked:\n%s\nwant:\n%s", strings.Join(asked, "\n"), strings.Join(want, "\n"))
	}
}

// Saying no to the offer asks for the password again, and does not offer
// twice.
func TestSignInDeclinedOfferAsksAgain(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	asker, p := newAsker("typo horse", "n", "still wrong", "correct horse")
	runClientAsking(t, signedInConfig(fs, testTokenDir(t)), asker)
	fs.accept()
	asked, said := p.transcript()
	if n := countPrefix(asked, "line: "); n != 1 {
		t.Errorf("offered an account %d times, want once: %q", n, asked)
	}
	if n := countPrefix(asked, "password: password for alice"); n != 3 {
		t.Errorf("asked the password %d times, want 3: %q", n, asked)
	}
	if !contains(said, "no account alice or wrong password") {
		t.Errorf("said %q, want the refusal explained", said)
	}
}

// Registering a name that turns out to be taken goes on to log in.
func TestSignInNameTakenGoesToLogin(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	cfg := signedInConfig(fs, testTokenDir(t))
	cfg.Register = true // the user asked to create the account first
	asker, p := newAsker("another pw", "another pw", "correct horse")
	runClientAsking(t, cfg, asker)
	fs.accept()
	if got, want := strings.Join(fa.callLog(), ", "), "register alice, login alice"; got != want {
		t.Errorf("API calls %q, want %q", got, want)
	}
	if _, said := p.transcript(); !contains(said, "alice has an account already: sign in with its password") {
		t.Errorf("said %q", said)
	}
}

// Giving up at the password prompt (Ctrl-C, Ctrl-D) ends the run as an
// interruption.
func TestSignInCancelledAtPrompt(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t, newFakeAuth())
	asker, _ := newAsker() // no answers: the prompter says io.EOF
	_, _, done := runClientAsking(t, signedInConfig(fs, testTokenDir(t)), asker)
	if err := expectRunEnd(t, done); !errors.Is(err, errSignInCancelled) {
		t.Errorf("Run = %v, want the sign-in cancelled", err)
	}
}

// The saved token is presented again on a reconnect and by the next run,
// with no new login.
func TestCachedTokenReusedOnReconnectAndNextRun(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	dir := testTokenDir(t)
	cfg := signedInConfig(fs, dir)
	cfg.Password = func() (string, error) { return "correct horse", nil }

	c, events, _ := runClient(t, cfg)
	first := fs.accept()
	first.drop()
	nextEvent(t, events, "connection lost", func(ev Event) bool { return ev.Down })
	second := fs.accept()
	if second.token != first.token {
		t.Errorf("reconnected with another token")
	}
	c.Close()
	second.closeCode(t)

	runClient(t, cfg)
	third := fs.accept()
	if third.token != first.token {
		t.Errorf("the next run presented another token")
	}
	if n := len(fa.callLog()); n != 1 {
		t.Errorf("%d API calls (%q), want the one login", n, fa.callLog())
	}
}

// A saved token the server refuses (expired, revoked) is dropped, and the
// client signs in again.
func TestRefusedCachedTokenIsDroppedAndUserAskedAgain(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	dir := testTokenDir(t)
	must(t, TokenCache{Dir: dir}.Save(serverKeyOf(t, fs), Grant{User: "alice", Token: "revoked-long-ago"}))
	asker, p := newAsker("correct horse")
	_, events, _ := runClientAsking(t, signedInConfig(fs, dir), asker)

	fc := fs.accept()
	if fc.token == "revoked-long-ago" || fc.token == "" {
		t.Fatalf("connected with token %q, want a fresh one", fc.token)
	}
	nextEvent(t, events, "notice", func(ev Event) bool {
		return strings.Contains(ev.Notice, "no longer accepts the saved sign-in for alice")
	})
	if asked, _ := p.transcript(); len(asked) != 1 {
		t.Errorf("asked %q, want the password once", asked)
	}
	if g, _ := (TokenCache{Dir: dir}).Load(serverKeyOf(t, fs), "alice"); g.Token != fc.token {
		t.Errorf("cache holds %q, want the fresh token", g.Token)
	}
}

// A token this run got and used, refused at a reconnect (it expired, or
// the server forgot it), is cured by signing in again.
func TestTokenRefusedAtReconnectSignsInAgain(t *testing.T) {
	t.Parallel()
	fs, cfg := aliceServer(t)
	_, events, _ := runClient(t, cfg)
	first := fs.accept()
	fs.auth.mu.Lock()
	delete(fs.auth.tokens, first.token)
	fs.auth.mu.Unlock()
	first.drop()
	nextEvent(t, events, "connection lost", func(ev Event) bool { return ev.Down })
	second := fs.accept()
	if second.token == first.token || second.token == "" {
		t.Errorf("reconnected with token %q, want a fresh one", second.token)
	}
	if got := strings.Join(fs.auth.callLog(), ", "); got != "login alice, login alice" {
		t.Errorf("API calls %q, want two logins", got)
	}
}

// A server that refuses the token it has just issued ends the run rather
// than asking for ever.
func TestFreshTokenRefusedEndsRun(t *testing.T) {
	t.Parallel()
	fs, cfg := aliceServer(t)
	fs.auth.mu.Lock()
	fs.auth.forgetful = true
	fs.auth.mu.Unlock()
	_, _, done := runClient(t, cfg)
	if err := expectRunEnd(t, done); !isSignInError(err, "did not accept the token it had just issued") {
		t.Errorf("Run = %v", err)
	}
}

// With nobody to ask and no password, a 401 ends the run with a reason
// that says what to set.
func TestUnauthorizedWithoutPasswordEndsRun(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t, newFakeAuth())
	_, _, done := runClient(t, signedInConfig(fs, testTokenDir(t)))
	err := expectRunEnd(t, done)
	var se *SignInError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "CHAT_PASSWORD") {
		t.Fatalf("Run = %v, want a SignInError naming CHAT_PASSWORD", err)
	}
}

// A script's password: login, or with Register the account is created
// when the login is refused; a taken name then means a wrong password.
func TestScriptedSignIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		account  bool // alice exists, with "correct horse"
		password string
		register bool
		calls    string
		wantErr  string // "" for a connection
	}{
		{"login", true, "correct horse", false, "login alice", ""},
		{"wrong password", true, "wrong horse", false, "login alice", "no account alice or wrong password (-register creates the account)"},
		{"no account", false, "correct horse", false, "login alice", "no account alice or wrong password"},
		{"register", false, "correct horse", true, "login alice, register alice", ""},
		{"register taken", true, "wrong horse", true, "login alice, register alice", "alice has an account and the password is wrong"},
		{"register weak", false, "short", true, "login alice, register alice", "cannot create the account alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fa := newFakeAuth()
			if tt.account {
				fa.addAccount("alice", "correct horse")
			}
			fs := newFakeServer(t, fa)
			cfg := signedInConfig(fs, testTokenDir(t))
			cfg.Password = func() (string, error) { return tt.password, nil }
			cfg.Register = tt.register
			_, _, done := runClient(t, cfg)
			if tt.wantErr == "" {
				fs.accept()
			} else if err := expectRunEnd(t, done); !isSignInError(err, tt.wantErr) {
				t.Errorf("Run = %v, want a SignInError with %q", err, tt.wantErr)
			}
			if got := strings.Join(fa.callLog(), ", "); got != tt.calls {
				t.Errorf("API calls %q, want %q", got, tt.calls)
			}
		})
	}
}

// Refusals that no password cures end the run in the user's words.
func TestSignInRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(*fakeAuth)
		answers []string
		wantErr string
	}{
		{"disabled", func(fa *fakeAuth) { fa.addAccount("alice", "correct horse"); fa.disabled["alice"] = true },
			[]string{"correct horse"}, "the account alice is disabled"},
		{"registration closed", func(fa *fakeAuth) { fa.closed = true },
			[]string{"whatever pw", "y", "new password", "new password"}, "does not let users register"},
		{"jwt mode", func(fa *fakeAuth) { fa.noAPI = true },
			[]string{"correct horse"}, "keeps no accounts to sign in to: set CHAT_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fa := newFakeAuth()
			tt.setup(fa)
			fs := newFakeServer(t, fa)
			asker, _ := newAsker(tt.answers...)
			_, _, done := runClientAsking(t, signedInConfig(fs, testTokenDir(t)), asker)
			if err := expectRunEnd(t, done); !isSignInError(err, tt.wantErr) {
				t.Errorf("Run = %v, want a SignInError with %q", err, tt.wantErr)
			}
		})
	}
}

// A token given with the configuration (jwt mode) is presented as is and
// never saved; refused, it ends the run without a login.
func TestGivenTokenUsedAsIsNeverCached(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.noAPI = true
	fs := newFakeServer(t, fa)
	dir := testTokenDir(t)
	cfg := signedInConfig(fs, dir)
	cfg.Token = fa.issue("alice")
	c, _, _ := runClient(t, cfg)
	if fc := fs.accept(); fc.token != cfg.Token {
		t.Errorf("presented %q, want the given token", fc.token)
	}
	c.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the token cache was touched (%v); a given token is never saved", err)
	}

	cfg.Token = "forged"
	_, _, done := runClient(t, cfg)
	if err := expectRunEnd(t, done); !isSignInError(err, "-token or CHAT_TOKEN") {
		t.Errorf("Run = %v, want the given token refused", err)
	}
	if calls := fa.callLog(); len(calls) != 0 {
		t.Errorf("API calls %q; a given token is never renewed", calls)
	}
}

// A token of another user gets 403 at the upgrade, which ends the run.
func TestTokenOfAnotherUserEndsRun(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fs := newFakeServer(t, fa)
	cfg := testConfig(fs)
	cfg.Token = fa.issue("bob")
	_, _, done := runClient(t, cfg)
	if err := expectRunEnd(t, done); !isSignInError(err, "the token is not for alice") {
		t.Errorf("Run = %v, want the server's 403 reason", err)
	}
}

// A server in none mode (version 1) is used exactly as before: no token,
// no prompt, nothing saved.
func TestVersion1ServerNeedsNoSignIn(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	dir := testTokenDir(t)
	asker, p := newAsker()
	runClientAsking(t, signedInConfig(fs, dir), asker)
	if fc := fs.accept(); fc.user != "alice" || fc.token != "" {
		t.Errorf("connected as %q with token %q", fc.user, fc.token)
	}
	if asked, _ := p.transcript(); len(asked) != 0 {
		t.Errorf("asked %q of a version 1 server's user", asked)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the token cache was touched: %v", err)
	}
}

// Close code 4003 ends the run with ErrRevoked, says why, drops the saved
// token and does not reconnect.
func TestRevokedConnectionEndsRun(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	dir := testTokenDir(t)
	cfg := signedInConfig(fs, dir)
	cfg.Password = func() (string, error) { return "correct horse", nil }
	_, events, done := runClient(t, cfg)
	fc := fs.accept()
	fc.sendRaw(t, `{"type":"error","code":"credentials_revoked","message":"your credentials were revoked"}`)
	fc.closeWith(closeRevoked, "credentials revoked")
	if err := expectRunEnd(t, done); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Run = %v, want ErrRevoked", err)
	}
	nextEvent(t, events, "revocation notice", func(ev Event) bool {
		return ev.Notice == "signed out: your credentials were revoked (logout, password change, or the account was disabled)"
	})
	if _, ok := (TokenCache{Dir: dir}).Load(serverKeyOf(t, fs), "alice"); ok {
		t.Error("the revoked token is still saved")
	}
	select {
	case fc2 := <-fs.conns:
		t.Errorf("reconnected as %s after a revocation", fc2.user)
	default:
	}
}

// serverKeyOf is the cache's name for fs.
func serverKeyOf(t *testing.T, fs *fakeServer) string {
	t.Helper()
	key, err := Config{Server: fs.url}.serverKey()
	must(t, err)
	return key
}

// assertMode fails the test unless path's permission bits are want.
func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

// contains reports whether lines holds s.
func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// countPrefix counts the lines that start with prefix.
func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// isSignInError reports whether err is a *SignInError whose reason holds
// substr.
func isSignInError(err error, substr string) bool {
	var se *SignInError
	return errors.As(err, &se) && strings.Contains(se.Reason, substr)
}
