package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// fakeAuth is the fake server's protocol version 2: accounts and tokens,
// the accounts API, the upgrade's checks (401, 403) and revocation (close
// code 4003), as docs/protocol.md describes them. A nil *fakeAuth is
// version 1: the user parameter is trusted and the API answers 404.
type fakeAuth struct {
	noAPI   bool   // jwt mode: tokens are minted elsewhere (issue), the API answers 404
	closed  bool   // registration is closed
	expires string // the expiry grants carry

	mu        sync.Mutex
	forgetful bool              // tokens issued are not kept: the upgrade refuses them
	passwords map[string]string // user → password
	disabled  map[string]bool
	tokens    map[string]string // token → user
	n         int               // counter behind tokens
	calls     []string          // API calls, "login alice", in order
	bearers   []string          // the bearer of each logout and password call
}

// newFakeAuth returns an accounts-mode fake with no accounts.
func newFakeAuth() *fakeAuth {
	return &fakeAuth{
		expires:   "2099-01-01T00:00:00.000Z",
		passwords: map[string]string{}, disabled: map[string]bool{}, tokens: map[string]string{},
	}
}

// addAccount creates an account.
func (fa *fakeAuth) addAccount(user, password string) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.passwords[user] = password
}

// issue mints a token for user, as a login would (or another service, in
// jwt mode).
func (fa *fakeAuth) issue(user string) string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.n++
	token := fmt.Sprintf("tok-%s-%d", user, fa.n)
	if !fa.forgetful {
		fa.tokens[token] = user
	}
	return token
}

// userOf is the user a valid token speaks for.
func (fa *fakeAuth) userOf(token string) (string, bool) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	user, ok := fa.tokens[token]
	return user, ok && token != ""
}

// callLog returns the API calls made so far.
func (fa *fakeAuth) callLog() []string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]string(nil), fa.calls...)
}

// bearerLog returns the bearers of the logout and password calls so far.
func (fa *fakeAuth) bearerLog() []string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]string(nil), fa.bearers...)
}

// passwordOf is user's password.
func (fa *fakeAuth) passwordOf(user string) string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return fa.passwords[user]
}

// record notes an API call.
func (fa *fakeAuth) record(call string) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.calls = append(fa.calls, call)
}

// admit applies the upgrade's rules: version 1 trusts the user parameter;
// version 2 wants a valid token (401) whose user the parameter, if given,
// names (403). It reports the user and token, or false when it answered.
func (fa *fakeAuth) admit(w http.ResponseWriter, r *http.Request) (user, token string, ok bool) {
	param := r.URL.Query().Get("user")
	if fa == nil {
		return param, "", true
	}
	token = bearerOf(r)
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	user, valid := fa.userOf(token)
	if !valid {
		http.Error(w, "missing, unknown, expired or revoked token", http.StatusUnauthorized)
		return "", "", false
	}
	if folded, _ := wire.FoldName(param); param != "" && folded != user {
		http.Error(w, "the token is not for "+param, http.StatusForbidden)
		return "", "", false
	}
	return user, token, true
}

// bearerOf is the request's bearer token, empty when it has none.
func bearerOf(r *http.Request) string {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return token
}

// api serves the accounts API, or 404 everywhere in none and jwt modes.
func (fa *fakeAuth) api(fs *fakeServer) http.Handler {
	if fa == nil || fa.noAPI {
		return http.NotFoundHandler()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/register", fa.register)
	mux.HandleFunc("POST /api/login", fa.login)
	mux.HandleFunc("POST /api/logout", func(w http.ResponseWriter, r *http.Request) { fa.logout(w, r, fs) })
	mux.HandleFunc("POST /api/password", func(w http.ResponseWriter, r *http.Request) { fa.password(w, r, fs) })
	return mux
}

// apiBody is what register, login and password read.
type apiBody struct {
	Name        string `json:"name"`
	Password    string `json:"password"`
	NewPassword string `json:"new_password"`
}

// readBody decodes the request's JSON body, answering 400 when it is not.
func readBody(w http.ResponseWriter, r *http.Request) (apiBody, bool) {
	var b apiBody
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(io.LimitReader(r.Body, 1<<14)).Decode(&b) != nil {
		apiFail(w, http.StatusBadRequest, "bad_request", "send a JSON object")
		return b, false
	}
	return b, true
}

// apiFail writes a refusal the protocol's way.
func apiFail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": message})
}

// grant writes a fresh token for user with status.
func (fa *fakeAuth) grant(w http.ResponseWriter, status int, user string) {
	token := fa.issue(user)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"user": user, "token": token, "expires": fa.expires})
}

func (fa *fakeAuth) register(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	name, valid := wire.FoldName(b.Name)
	fa.record("register " + name)
	fa.mu.Lock()
	_, taken := fa.passwords[name]
	switch {
	case fa.closed:
		fa.mu.Unlock()
		apiFail(w, http.StatusForbidden, "registration_closed", "registration is closed")
	case !valid:
		fa.mu.Unlock()
		apiFail(w, http.StatusBadRequest, "invalid_name", "invalid user name")
	case len(b.Password) < minPassword:
		fa.mu.Unlock()
		apiFail(w, http.StatusBadRequest, "weak_password", "a password is 8 to 1024 bytes of UTF-8")
	case taken:
		fa.mu.Unlock()
		apiFail(w, http.StatusConflict, "name_taken", "that name is taken")
	default:
		fa.passwords[name] = b.Password
		fa.mu.Unlock()
		fa.grant(w, http.StatusCreated, name)
	}
}

func (fa *fakeAuth) login(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	name, _ := wire.FoldName(b.Name)
	fa.record("login " + name)
	fa.mu.Lock()
	right := fa.passwords[name] == b.Password && b.Password != ""
	disabled := fa.disabled[name]
	fa.mu.Unlock()
	switch {
	case !right:
		apiFail(w, http.StatusUnauthorized, "bad_credentials", "name or password is wrong")
	case disabled:
		apiFail(w, http.StatusForbidden, "account_disabled", "the account is disabled")
	default:
		fa.grant(w, http.StatusOK, name)
	}
}

func (fa *fakeAuth) logout(w http.ResponseWriter, r *http.Request, fs *fakeServer) {
	token := bearerOf(r)
	fa.mu.Lock()
	fa.bearers = append(fa.bearers, token)
	fa.mu.Unlock()
	fa.record("logout")
	if _, ok := fa.userOf(token); !ok {
		apiFail(w, http.StatusUnauthorized, "bad_credentials", "bad token")
		return
	}
	fa.revoke(fs, func(t, _ string) bool { return t == token })
	w.WriteHeader(http.StatusNoContent)
}

func (fa *fakeAuth) password(w http.ResponseWriter, r *http.Request, fs *fakeServer) {
	token := bearerOf(r)
	fa.record("password")
	user, ok := fa.userOf(token)
	b, okBody := readBody(w, r)
	if !okBody {
		return
	}
	fa.mu.Lock()
	right := ok && fa.passwords[user] == b.Password
	if right && len(b.NewPassword) >= minPassword {
		fa.passwords[user] = b.NewPassword
	}
	fa.mu.Unlock()
	switch {
	case !right:
		apiFail(w, http.StatusUnauthorized, "bad_credentials", "wrong password or token")
	case len(b.NewPassword) < minPassword:
		apiFail(w, http.StatusBadRequest, "weak_password", "a password is 8 to 1024 bytes of UTF-8")
	default:
		fa.revoke(fs, func(t, u string) bool { return u == user && t != token })
		w.WriteHeader(http.StatusNoContent)
	}
}

// revoke removes the tokens that match and closes the connections opened
// with them with 4003, as the real server does.
func (fa *fakeAuth) revoke(fs *fakeServer, match func(token, user string) bool) {
	gone := map[string]bool{}
	fa.mu.Lock()
	for t, u := range fa.tokens {
		if match(t, u) {
			gone[t] = true
			delete(fa.tokens, t)
		}
	}
	fa.mu.Unlock()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, fc := range fs.all {
		if gone[fc.token] {
			fc.closeWith(closeRevoked, "credentials revoked")
		}
	}
}

// scriptedPrompter answers a dialog from a script and records what it was
// asked and told.
type scriptedPrompter struct {
	mu      sync.Mutex
	answers []string // answers to Password and Line, in order; io.EOF after the last
	asked   []string // "password: PROMPT" or "line: PROMPT", in order
	said    []string
}

// Password answers with the next scripted answer.
func (p *scriptedPrompter) Password(prompt string) (string, error) {
	return p.answer("password: " + prompt)
}

// Line answers with the next scripted answer.
func (p *scriptedPrompter) Line(prompt string) (string, error) {
	return p.answer("line: " + prompt)
}

// Say records text.
func (p *scriptedPrompter) Say(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.said = append(p.said, text)
}

// answer records the prompt and pops the next answer.
func (p *scriptedPrompter) answer(prompt string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, prompt)
	if len(p.answers) == 0 {
		return "", io.EOF
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

// transcript returns what was asked and said so far.
func (p *scriptedPrompter) transcript() (asked, said []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...), append([]string(nil), p.said...)
}

// scriptedAsker runs each dialog with its prompter at once.
type scriptedAsker struct {
	p *scriptedPrompter
}

// Ask runs dialog.
func (a scriptedAsker) Ask(_ context.Context, dialog func(Prompter) error) error {
	return dialog(a.p)
}

// newAsker returns an asker answering with answers.
func newAsker(answers ...string) (scriptedAsker, *scriptedPrompter) {
	p := &scriptedPrompter{answers: answers}
	return scriptedAsker{p: p}, p
}

// runClientAsking is runClient for a client that can ask the user, with
// asker (nil: nobody to ask).
func runClientAsking(t *testing.T, cfg Config, asker Asker) (*Client, chan Event, chan error) {
	t.Helper()
	return runClientWith(t, cfg, func(c *Client) { c.creds.asker = asker })
}

// testTokenDir is an empty token cache directory for one test, inside one
// that the test owns (so the cache must create it).
func testTokenDir(t *testing.T) string {
	t.Helper()
	return t.TempDir() + "/actorchat/tokens"
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// signedInConfig is testConfig for a v2 server, caching tokens in dir.
func signedInConfig(fs *fakeServer, dir string) Config {
	cfg := testConfig(fs)
	cfg.TokenDir = dir
	return cfg
}

// expectRunEnd waits for Run's result.
func expectRunEnd(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
		return nil
	}
}
