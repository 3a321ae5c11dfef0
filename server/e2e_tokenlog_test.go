package server_test

// The server never logs a token (docs/protocol.md, "Presenting the
// token"). A token rides in the upgrade's query string, where a log of
// requests or of an error quoting the URL would leak it; these tests run
// every path a token takes, good and bad, with every log the server has
// captured at debug level (its own, the actors', the accounts service's and
// net/http's), and look for the tokens' text in it.

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// wantNoSecrets fails if any secret, or a part of one long enough to
// identify it, is in the logs; and unless the logs hold every line in
// mustLog, which shows that they were captured.
func wantNoSecrets(t *testing.T, logs string, secrets []string, mustLog ...string) {
	t.Helper()
	for _, want := range mustLog {
		if !strings.Contains(logs, want) {
			t.Fatalf("the logs lack %q: were they captured? They are:\n%s", want, logs)
		}
	}
	for _, s := range secrets {
		for _, part := range []string{s, s[:16], s[len(s)-16:]} {
			if strings.Contains(logs, part) {
				t.Fatalf("the logs hold a token (%q):\n%s", part, logs)
			}
		}
	}
}

// rawRequest sends one HTTP request as raw bytes (so that it can be
// malformed) and returns the status line of the answer, if any.
func rawRequest(t *testing.T, addr, request string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestTokensAreNeverLogged runs the accounts mode's paths with tokens in
// the query and in the header: a good token through a whole session and
// its revocation, and bad ones into every refusal before the upgrade and
// of the upgrader.
func TestTokensAreNeverLogged(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	e := startAccounts(t, nil, withLogs(logs), withServer(func(c *server.Config) {
		c.AllowedOrigins = []string{"https://chat.example"}
	}))
	good := e.register(t, "alice", "correct horse")
	other := e.login(t, "alice", "correct horse")
	bob := e.register(t, "bob", "correct horse")
	unknown := strings.Repeat("Zq9", 15)
	malformed := "not+a+token+" + strings.Repeat("x", 20) // spaces: refused without a lookup
	long := strings.Repeat("L", 600)                      // past the 512 characters a token may have

	alice := joinWith(t, e.env, "token="+good, nil, "alice")
	alice.say(t, "hello", "s1")
	alice.sendText(t, "/dm bob psst "+good) // a token pasted into a message is a message
	alice.expect(t, "sent")

	for what, q := range map[string]string{
		"unknown":     "token=" + unknown,
		"malformed":   "token=" + malformed,
		"too long":    "token=" + long,
		"wrong user":  "user=bob&token=" + good,
		"repeated":    "token=" + good + "&token=" + other,
		"two tokens":  "token=" + good + "&user=alice",
		"a bad query": "token=" + good + "&user=%zz",
	} {
		h := http.Header{}
		if what == "two tokens" {
			h = bearer(bob)
		}
		resp, body := refusedDial(t, e.env, q, h)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("%s: HTTP %d %q, want a refusal", what, resp.StatusCode, body)
		}
	}
	// The upgrader's refusals, with a good token in the query: not a
	// WebSocket request; a browser origin that is not allowed.
	resp, err := apiClient.Get(e.url + "/chat?token=" + good)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a plain GET with a token: %d, want 400", resp.StatusCode)
	}
	if resp, _ := refusedDial(t, e.env, "token="+good, http.Header{"Origin": {"https://evil.example"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign origin: %d, want 403", resp.StatusCode)
	}
	// net/http's own refusals of malformed requests, with tokens in the
	// request line and a header.
	addr := strings.TrimPrefix(e.url, "http://")
	for _, req := range []string{
		"GET /chat?token=" + good + " HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
		"GET /chat?token=" + other + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + bob + "\r\nContent-Length: nope\r\n\r\n",
		"GET /chat?token=" + good + "\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		if line := rawRequest(t, addr, req); !strings.HasPrefix(line, "HTTP/1.1 400") {
			t.Fatalf("a malformed request: %q, want 400", line)
		}
	}
	// The API with the token: a wrong old password, a logout.
	e.postJSON(t, "/api/password", `{"password":"wrong horse","new_password":"new horse"}`, bearerHeader(other)...)
	wantAnswer(t, "logout", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(good)...), http.StatusNoContent, "")
	alice.expectError(t, wire.CodeCredentialsRevoked)
	alice.expectClose(t, wire.CloseCredentialsRevoked)
	wantRefused(t, e.env, "the revoked token", "token="+good, nil, http.StatusUnauthorized)

	eventually(t, "the close logged", func() bool { return strings.Contains(logs.String(), "reason=credentials_revoked") })
	wantNoSecrets(t, logs.String(), []string{good, other, bob, unknown, long},
		`msg="connection refused" status=401`, `msg="connection refused" status=403`,
		`msg="connection refused" status=400`, "user=alice remote=127.0.0.1 reason=credentials_revoked")
}

// TestJWTsAreNeverLogged is the same for the jwt mode's refusals, whose
// reasons (a bad signature, a wrong audience) are logged by nobody with
// the token.
func TestJWTsAreNeverLogged(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	secret, path := hsSecret(t)
	v, err := auth.NewJWTVerifier(auth.JWTConfig{SecretFile: path, Audience: jwtAudience})
	if err != nil {
		t.Fatal(err)
	}
	e := startServer(t, withLogs(logs), withServer(func(c *server.Config) { c.Verifier = v }))
	good := sign(t, jwt.SigningMethodHS256, secret, claims("dave"))
	bad := []string{
		sign(t, jwt.SigningMethodHS256, make([]byte, 32), claims("dave")),
		sign(t, jwt.SigningMethodHS256, secret, with(claims("dave"), "aud", "elsewhere")),
		sign(t, jwt.SigningMethodHS256, secret, with(claims("dave"), "exp", time.Now().Add(-time.Hour).Unix())),
		sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("dave")),
		good[:len(good)-4] + "AAAA",
	}
	for i, token := range bad {
		wantRefused(t, e, fmt.Sprint("bad token ", i), "token="+token, nil, http.StatusUnauthorized)
	}
	c := joinWith(t, e, "token="+good, nil, "dave")
	c.leave(t)
	eventually(t, "the close logged", func() bool { return strings.Contains(logs.String(), `msg="connection closed"`) })
	wantNoSecrets(t, logs.String(), append(bad, good), `msg="connection refused" status=401`, "user=dave")
}

// TestPanicValuesAreNotLogged: a panic while serving a request is logged,
// with its stack, but without its value, which here quotes the token the
// request carried; a runtime error is logged whole; net/http logs nothing
// of either, and the request fails as for any panic. The panics come from
// the operations handler, the one part of Routes a test can make panic.
func TestPanicValuesAreNotLogged(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-t0ken-Zq9Zq9Zq9Zq9Zq9Zq9"
	logs := &lockedBuffer{}
	ops := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/value":
			panic("cannot serve token " + r.URL.Query().Get("token"))
		case "/runtime":
			var xs []int
			_ = xs[len(r.URL.Query().Get("token"))] // index out of range
		case "/abort":
			panic(http.ErrAbortHandler)
		}
	})
	e := startServer(t, withLogs(logs))
	hs := httptest.NewUnstartedServer(e.srv.Routes(ops))
	hs.Config.ErrorLog = log.New(logs, "net/http: ", 0)
	hs.Start()
	defer hs.Close()
	for _, path := range []string{"/value", "/runtime", "/abort"} {
		resp, err := apiClient.Get(hs.URL + path + "?token=" + secret)
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("%s: answered %d, want the request aborted", path, resp.StatusCode)
		}
	}
	out := logs.String()
	switch {
	case strings.Contains(out, secret):
		t.Fatalf("the logs hold the token:\n%s", out)
	case strings.Contains(out, "net/http: "):
		t.Fatalf("net/http logged a panic:\n%s", out)
	case strings.Count(out, `msg="panic serving a request"`) != 2:
		t.Fatalf("want the two panics logged, not the abort:\n%s", out)
	case !strings.Contains(out, "a string (its value is not logged"),
		!strings.Contains(out, fmt.Sprintf("index out of range [%d]", len(secret))),
		!strings.Contains(out, "e2e_tokenlog_test.go"):
		t.Fatalf("want the type of a value, a runtime error whole and the stacks:\n%s", out)
	}
}
