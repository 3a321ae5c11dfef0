package server_test

// End-to-end tests of the accounts API (api.go): a real server on
// 127.0.0.1, real HTTP requests, every row and refusal of the protocol's
// table.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/server"
)

// cheapHash makes password hashing nearly free, for tests that are not
// about its cost.
var cheapHash = auth.Params{Time: 1, Memory: 64, Threads: 1}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// apiEnv is a running server in accounts mode.
type apiEnv struct {
	*env
	url string // http://127.0.0.1:PORT
	svc *auth.Service
}

// startAccounts starts a server in accounts mode, wired as cmd/chatd wires
// it: a memory store shared by the actors and the accounts service, whose
// revocations go to the actors, with cheap hashing and whatever adjust
// changes in the service's configuration. opts adjust the server.
func startAccounts(t *testing.T, adjust func(*auth.Config), opts ...option) *apiEnv {
	t.Helper()
	st := store.NewMemory(store.Config{})
	var svc *auth.Service
	opts = append([]option{
		withActors(func(c *actors.Config) { c.Store = st }),
		withChat(func(chat *actors.Chat, c *server.Config) {
			cfg := auth.Config{Store: st, Params: cheapHash, Logger: c.Logger, OnRevoke: server.RevokeSessions(chat)}
			if adjust != nil {
				adjust(&cfg)
			}
			var err error
			if svc, err = auth.New(cfg); err != nil {
				t.Fatal(err)
			}
			c.Accounts = svc
		}),
	}, opts...)
	e := startServer(t, opts...)
	return &apiEnv{env: e, url: e.hs.URL, svc: svc}
}

// answer is one HTTP answer, its JSON body decoded.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// str returns a string member of the body ("" if absent).
func (a answer) str(name string) string {
	s, _ := a.body[name].(string)
	return s
}

var apiClient = &http.Client{Timeout: waitFor}

// call makes one request; headers are name, value pairs.
func (e *apiEnv) call(t *testing.T, method, path, body string, headers ...string) answer {
	t.Helper()
	a, err := e.try(method, path, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// try makes one request and reads its answer, which must be empty or a
// JSON object; it may run on any goroutine.
func (e *apiEnv) try(method, path, body string, headers ...string) (answer, error) {
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 && json.Unmarshal(data, &a.body) != nil {
		return a, fmt.Errorf("%s %s: answer %d is not a JSON object: %q", method, path, resp.StatusCode, data)
	}
	return a, nil
}

// postJSON posts a JSON body.
func (e *apiEnv) postJSON(t *testing.T, path, body string, headers ...string) answer {
	t.Helper()
	return e.call(t, http.MethodPost, path, body, append([]string{"Content-Type", "application/json"}, headers...)...)
}

// creds is a {"name","password"} body.
func creds(name, password string) string {
	data, _ := json.Marshal(map[string]string{"name": name, "password": password})
	return string(data)
}

// wantAnswer checks an answer's status and, for a refusal, its code and
// the presence of a message.
func wantAnswer(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d %v, want %d %s", what, a.status, a.body, status, code)
	}
	if code == "" {
		return
	}
	if a.str("error") != code || a.str("message") == "" {
		t.Fatalf("%s: body %v, want error %q with a message", what, a.body, code)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
}

// wantGrant checks a register or login answer and returns its token.
func wantGrant(t *testing.T, what string, a answer, status int, user string) string {
	t.Helper()
	wantAnswer(t, what, a, status, "")
	token := a.str("token")
	if a.str("user") != user || !tokenPattern.MatchString(token) || !tsPattern.MatchString(a.str("expires")) {
		t.Fatalf("%s: body %v, want user %q, a 43-character token and a timestamp", what, a.body, user)
	}
	if a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s: headers %v", what, a.header)
	}
	return token
}

// register registers name and returns the token.
func (e *apiEnv) register(t *testing.T, name, password string) string {
	t.Helper()
	return wantGrant(t, "register "+name, e.postJSON(t, "/api/register", creds(name, password)), http.StatusCreated, strings.ToLower(name))
}

// login logs name in and returns the token.
func (e *apiEnv) login(t *testing.T, name, password string) string {
	t.Helper()
	return wantGrant(t, "login "+name, e.postJSON(t, "/api/login", creds(name, password)), http.StatusOK, strings.ToLower(name))
}

func bearerHeader(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestAPIRegister(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	before := time.Now()
	a := e.postJSON(t, "/api/register", creds("Alice", "correct horse"))
	token := wantGrant(t, "register", a, http.StatusCreated, "alice")
	exp, err := time.Parse(time.RFC3339, a.str("expires"))
	if err != nil || exp.Before(before.Add(auth.DefaultTokenTTL-time.Second)) || exp.After(time.Now().Add(auth.DefaultTokenTTL)) {
		t.Fatalf("expires %q (%v), want 30 days from now", a.str("expires"), err)
	}
	if id, err := e.svc.Verify(token); err != nil || id.User != "alice" {
		t.Fatalf("the token verifies as %+v, %v", id, err)
	}
	e.login(t, "alice", "correct horse")
}

func TestAPIBadRequests(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	e.register(t, "alice", "correct horse")
	for _, path := range []string{"/api/register", "/api/login"} {
		for _, body := range []string{
			``, `not json`, `[]`, `"alice"`, `null`, `42`, `{}`,
			`{"name":"bob"}`,
			`{"password":"correct horse"}`,
			`{"name":7,"password":"correct horse"}`,
			`{"name":"bob","password":["correct horse"]}`,
			`{"name":"bob","password":null}`,
			`{"Name":"bob","password":"correct horse"}`,
			`{"name":"bob","password":"correct horse"} {}`,
			"{\"name\":\"bob\",\"password\":\"correct \xff horse\"}",
		} {
			wantAnswer(t, path+" "+body, e.postJSON(t, path, body), http.StatusBadRequest, "bad_request")
		}
		a := e.call(t, http.MethodPost, path, creds("bob", "correct horse"), "Content-Type", "text/plain")
		wantAnswer(t, path+" as text/plain", a, http.StatusUnsupportedMediaType, "bad_request")
		a = e.call(t, http.MethodPost, path, creds("bob", "correct horse"))
		wantAnswer(t, path+" without Content-Type", a, http.StatusUnsupportedMediaType, "bad_request")
		big := `{"name":"bob","password":"correct horse","pad":"` + strings.Repeat("x", 16<<10) + `"}`
		wantAnswer(t, path+" too large", e.postJSON(t, path, big), http.StatusRequestEntityTooLarge, "bad_request")
		a = e.call(t, http.MethodGet, path, "")
		wantAnswer(t, "GET "+path, a, http.StatusMethodNotAllowed, "bad_request")
		if allow := a.header.Get("Allow"); allow != "POST" {
			t.Fatalf("GET %s: Allow %q", path, allow)
		}
	}
	// A charset parameter is fine, and so are fields of no concern.
	a := e.postJSON(t, "/api/register", `{"name":"carol","password":"correct horse","extra":1}`, "Content-Type", "application/json; charset=utf-8")
	wantGrant(t, "register with a charset", a, http.StatusCreated, "carol")

	// Nothing was created by the refused requests.
	list, err := e.svc.List()
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].Name != "carol" {
		t.Fatalf("accounts %+v, %v; want alice and carol only", list, err)
	}
}

func TestAPIRegisterRefusals(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	e.register(t, "alice", "correct horse")
	cases := []struct {
		name, password string
		status         int
		code           string
	}{
		{"bad name", "correct horse", http.StatusBadRequest, "invalid_name"},
		{"", "correct horse", http.StatusBadRequest, "invalid_name"},
		{strings.Repeat("b", 33), "correct horse", http.StatusBadRequest, "invalid_name"},
		{"bob", "short", http.StatusBadRequest, "weak_password"},
		{"bob", strings.Repeat("p", 1025), http.StatusBadRequest, "weak_password"},
		{"ALICE", "another horse", http.StatusConflict, "name_taken"},
	}
	for _, c := range cases {
		wantAnswer(t, "register "+c.name, e.postJSON(t, "/api/register", creds(c.name, c.password)), c.status, c.code)
	}
	if list, _ := e.svc.List(); len(list) != 1 {
		t.Fatalf("refused registrations created accounts: %+v", list)
	}

	closed := startAccounts(t, func(c *auth.Config) { c.RegistrationClosed = true })
	a := closed.postJSON(t, "/api/register", creds("bob", "correct horse"))
	wantAnswer(t, "register with registration closed", a, http.StatusForbidden, "registration_closed")
}

func TestAPILogin(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	first := e.register(t, "alice", "correct horse")
	if second := e.login(t, "ALICE", "correct horse"); second == first {
		t.Fatal("login returned the registration's token")
	}
	for _, c := range [][2]string{{"alice", "wrong horse"}, {"nobody", "correct horse"}, {"bad name", "correct horse"}} {
		a := e.postJSON(t, "/api/login", creds(c[0], c[1]))
		wantAnswer(t, "login "+c[0]+" / "+c[1], a, http.StatusUnauthorized, "bad_credentials")
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("401 without WWW-Authenticate: %v", a.header)
		}
	}
	if err := e.svc.Disable("alice"); err != nil {
		t.Fatal(err)
	}
	wantAnswer(t, "login while disabled", e.postJSON(t, "/api/login", creds("alice", "correct horse")), http.StatusForbidden, "account_disabled")
	wantAnswer(t, "a wrong password while disabled", e.postJSON(t, "/api/login", creds("alice", "wrong horse")), http.StatusUnauthorized, "bad_credentials")
}

func TestAPIRateLimited(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil) // 30 attempts a minute from one address
	e.register(t, "alice", "correct horse")
	for i := range 29 {
		wantAnswer(t, "attempt "+strconv.Itoa(i+2), e.postJSON(t, "/api/login", creds("nobody"+strconv.Itoa(i), "wrong horse")), http.StatusUnauthorized, "bad_credentials")
	}
	for _, path := range []string{"/api/login", "/api/register"} {
		a := e.postJSON(t, path, creds("alice", "correct horse"))
		wantAnswer(t, path+" past the limit", a, http.StatusTooManyRequests, "rate_limited")
		if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("Retry-After %q, want 1 to 60 seconds", a.header.Get("Retry-After"))
		}
	}
}

func TestAPIRateLimitedPerName(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, func(c *auth.Config) { c.IPAttempts = auth.NoLimit })
	e.register(t, "alice", "correct horse")
	for range auth.DefaultNameFailures {
		e.postJSON(t, "/api/login", creds("alice", "wrong horse"))
	}
	a := e.postJSON(t, "/api/login", creds("alice", "correct horse"))
	wantAnswer(t, "the right password past the failures", a, http.StatusTooManyRequests, "rate_limited")
	if a.header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q, want 60", a.header.Get("Retry-After"))
	}
}

func TestAPILogout(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	token := e.register(t, "alice", "correct horse")
	other := e.login(t, "alice", "correct horse")
	for what, h := range map[string][]string{
		"no header":      nil,
		"another scheme": {"Authorization", "Basic YWxpY2U6eA=="},
		"no token":       {"Authorization", "Bearer"},
		"unknown token":  bearerHeader(strings.Repeat("A", 43)),
		"a malformed":    bearerHeader("not a token"),
	} {
		a := e.call(t, http.MethodPost, "/api/logout", "", h...)
		wantAnswer(t, "logout with "+what, a, http.StatusUnauthorized, "bad_credentials")
	}
	a := e.call(t, http.MethodPost, "/api/logout", "", "Authorization", "bearer "+token)
	wantAnswer(t, "logout", a, http.StatusNoContent, "")
	wantAnswer(t, "logout again", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(token)...), http.StatusUnauthorized, "bad_credentials")
	if _, err := e.svc.Verify(token); err == nil {
		t.Fatal("the token verifies after logout")
	}
	if _, err := e.svc.Verify(other); err != nil {
		t.Fatalf("the other token was revoked too: %v", err)
	}
	wantAnswer(t, "GET logout", e.call(t, http.MethodGet, "/api/logout", "", bearerHeader(other)...), http.StatusMethodNotAllowed, "bad_request")
}

func TestAPIPassword(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	token := e.register(t, "alice", "correct horse")
	other := e.login(t, "alice", "correct horse")
	change := func(old, next string) string {
		data, _ := json.Marshal(map[string]string{"password": old, "new_password": next})
		return string(data)
	}
	wantAnswer(t, "no token", e.postJSON(t, "/api/password", change("correct horse", "new password")), http.StatusUnauthorized, "bad_credentials")
	wantAnswer(t, "an unknown token", e.postJSON(t, "/api/password", change("correct horse", "new password"), bearerHeader(strings.Repeat("A", 43))...), http.StatusUnauthorized, "bad_credentials")
	for _, body := range []string{`[]`, `{"password":"correct horse"}`, `{"new_password":"new password"}`, `{"password":"correct horse","new_password":5}`} {
		wantAnswer(t, "body "+body, e.postJSON(t, "/api/password", body, bearerHeader(token)...), http.StatusBadRequest, "bad_request")
	}
	wantAnswer(t, "a weak new password", e.postJSON(t, "/api/password", change("correct horse", "short"), bearerHeader(token)...), http.StatusBadRequest, "weak_password")
	wantAnswer(t, "a wrong old password", e.postJSON(t, "/api/password", change("wrong horse", "new password"), bearerHeader(token)...), http.StatusUnauthorized, "bad_credentials")

	wantAnswer(t, "change", e.postJSON(t, "/api/password", change("correct horse", "new password"), bearerHeader(token)...), http.StatusNoContent, "")
	wantAnswer(t, "the other token after the change", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(other)...), http.StatusUnauthorized, "bad_credentials")
	wantAnswer(t, "the old password", e.postJSON(t, "/api/login", creds("alice", "correct horse")), http.StatusUnauthorized, "bad_credentials")
	e.login(t, "alice", "new password")
	wantAnswer(t, "the changing token still works", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(token)...), http.StatusNoContent, "")
}

// TestAPIPasswordRateLimited: a wrong old password counts as a failed
// login of the name, so that a stolen token cannot guess the password
// without end.
func TestAPIPasswordRateLimited(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, func(c *auth.Config) { c.IPAttempts = auth.NoLimit })
	token := e.register(t, "alice", "correct horse")
	body := func(old string) string { return `{"password":"` + old + `","new_password":"new password"}` }
	for i := range auth.DefaultNameFailures {
		a := e.postJSON(t, "/api/password", body("wrong horse"), bearerHeader(token)...)
		wantAnswer(t, "wrong old password "+strconv.Itoa(i+1), a, http.StatusUnauthorized, "bad_credentials")
	}
	a := e.postJSON(t, "/api/password", body("correct horse"), bearerHeader(token)...)
	wantAnswer(t, "the right old password past the failures", a, http.StatusTooManyRequests, "rate_limited")
	if a.header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", a.header)
	}
}

// TestAPITokenOnlyInTheHeader: the token parameter is for the WebSocket
// upgrade only; the API wants the header.
func TestAPITokenOnlyInTheHeader(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	token := e.register(t, "alice", "correct horse")
	a := e.call(t, http.MethodPost, "/api/logout?token="+token, "")
	wantAnswer(t, "logout with the token in the query", a, http.StatusUnauthorized, "bad_credentials")
	a = e.postJSON(t, "/api/password?token="+token, `{"password":"correct horse","new_password":"new password"}`)
	wantAnswer(t, "password with the token in the query", a, http.StatusUnauthorized, "bad_credentials")
	if _, err := e.svc.Verify(token); err != nil {
		t.Fatalf("the token no longer verifies: %v", err)
	}
}

func TestAPIAbsentWithoutAccounts(t *testing.T) {
	t.Parallel()
	e := startServer(t) // the jwt and none modes: no accounts service
	for _, path := range []string{"/api/register", "/api/login", "/api/logout", "/api/password"} {
		resp, err := apiClient.Post(e.hs.URL+path, "application/json", strings.NewReader(creds("alice", "correct horse")))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("POST %s without accounts: %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestAPILoginFlood floods logins at a server hashing with the real
// parameters, one at a time with a queue of one: the flood is refused with
// 503 and Retry-After rather than queued, and the pool never holds more
// than it may.
func TestAPILoginFlood(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, func(c *auth.Config) {
		c.Params, c.HashWorkers, c.HashQueue, c.IPAttempts = auth.DefaultParams, 1, 1, auth.NoLimit
	})
	var worst auth.HashStats
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // samples the pool while the flood runs
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			st := e.svc.HashStats()
			worst.InFlight, worst.Queued = max(worst.InFlight, st.InFlight), max(worst.Queued, st.Queued)
		}
	}()
	busy := 0
	deadline := time.Now().Add(3 * waitFor)
	for busy == 0 && time.Now().Before(deadline) { // waves until the pool refuses
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				a, err := e.try(http.MethodPost, "/api/login", creds("user"+strconv.Itoa(i), "wrong horse"), "Content-Type", "application/json")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case a.status == http.StatusServiceUnavailable && a.str("error") == "server_busy" && a.header.Get("Retry-After") == "1":
					busy++
				case a.status != http.StatusUnauthorized:
					t.Errorf("a login in the flood: %d %v", a.status, a.body)
				}
			})
		}
		wg.Wait()
	}
	close(stop)
	<-sampled
	if busy == 0 {
		t.Fatal("no login of the flood was refused with 503")
	}
	if worst.InFlight > 1 || worst.Queued > 1 {
		t.Fatalf("the pool held %d hashes and %d waiting, bounds 1 and 1", worst.InFlight, worst.Queued)
	}
	if st := e.svc.HashStats(); st.Refused == 0 || st.InFlight != 0 || st.Queued != 0 {
		t.Fatalf("stats after the flood: %+v", st)
	}
}
