package server_test

// End-to-end tests of protocol version 2 at the WebSocket upgrade, in the
// accounts mode (docs/protocol.md, "Presenting the token"): tokens in the
// header and in the query, the refusals before the upgrade, takeover, and
// revocation closing live connections with 4003.

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server"
)

// bearer is an Authorization header carrying token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// joinWith connects with the raw query and headers given and takes the
// welcome, which must name user.
func joinWith(t *testing.T, e *env, rawQuery string, h http.Header, user string) *client {
	t.Helper()
	c := dialQuery(t, e, rawQuery, user, withHeader(h))
	if w := c.expect(t, "welcome"); w.User != user {
		t.Fatalf("welcome %s, want one for %s", w.Raw, user)
	}
	return c
}

// joinToken connects with token in the Authorization header and no user
// parameter, as user.
func joinToken(t *testing.T, e *env, token, user string) *client {
	t.Helper()
	return joinWith(t, e, "", bearer(token), user)
}

// wantRefused dials with the raw query and headers given and checks the
// refusal: status, a text/plain body of one line, and for a 401 the
// WWW-Authenticate challenge.
func wantRefused(t *testing.T, e *env, what, rawQuery string, h http.Header, status int) {
	t.Helper()
	resp, body := refusedDial(t, e, rawQuery, h)
	if resp.StatusCode != status {
		t.Fatalf("%s: HTTP %d %q, want %d", what, resp.StatusCode, body, status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("%s: Content-Type %q, want text/plain", what, ct)
	}
	if strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") || len(body) < 2 {
		t.Fatalf("%s: body %q, want one line", what, body)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("%s: a 401 without WWW-Authenticate: Bearer", what)
	}
}

func TestUpgradeTokenInHeaderOrQuery(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	token := e.register(t, "Alice", "correct horse")

	c := joinToken(t, e.env, token, "alice") // the welcome names the token's user
	c.leave(t)
	c = joinWith(t, e.env, "token="+url.QueryEscape(token), nil, "alice")
	c.leave(t)
	// The user parameter may name the token's user, in any case; the header
	// and the parameter may both carry the token; the scheme's case is free.
	c = joinWith(t, e.env, "user=ALICE&token="+token, http.Header{"Authorization": {"bearer " + token}}, "alice")
	c.leave(t)
	// A header of another scheme is no token: the parameter's counts.
	c = joinWith(t, e.env, "token="+token, http.Header{"Authorization": {"Basic YWxpY2U6eA=="}}, "alice")
	c.leave(t)
}

func TestUpgradeRefusals(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	clock.ms.Store(time.Now().UnixMilli()) // the store drops tokens expired by its own clock, the real one
	e := startAccounts(t, func(c *auth.Config) { c.Clock = clock.Now })
	alice := e.register(t, "alice", "correct horse")
	bob := e.register(t, "bob", "correct horse")
	revoked := e.login(t, "alice", "correct horse")
	wantAnswer(t, "logout", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(revoked)...), http.StatusNoContent, "")

	cases := []struct {
		what     string
		rawQuery string
		header   http.Header
		status   int
		label    string
	}{
		{"no token", "", nil, http.StatusUnauthorized, "bad_credentials"},
		{"a user parameter alone", "user=alice", nil, http.StatusUnauthorized, "bad_credentials"},
		{"an empty bearer", "user=alice", http.Header{"Authorization": {"Bearer "}}, http.StatusUnauthorized, "bad_credentials"},
		{"another scheme", "", http.Header{"Authorization": {"Basic YWxpY2U6eA=="}}, http.StatusUnauthorized, "bad_credentials"},
		{"an unknown token", "", bearer(strings.Repeat("A", 43)), http.StatusUnauthorized, "bad_credentials"},
		{"an unknown token in the query", "token=" + strings.Repeat("B", 43), nil, http.StatusUnauthorized, "bad_credentials"},
		{"a malformed token", "token=not%20a%20token", nil, http.StatusUnauthorized, "bad_credentials"},
		{"a revoked token", "", bearer(revoked), http.StatusUnauthorized, "bad_credentials"},
		{"another user's token", "user=alice", bearer(bob), http.StatusForbidden, "wrong_user"},
		{"another user's token in the query", "user=bob&token=" + alice, nil, http.StatusForbidden, "wrong_user"},
		{"an invalid user name", "user=b%21b", bearer(alice), http.StatusBadRequest, "bad_name"},
		{"two user parameters", "user=alice&user=alice", bearer(alice), http.StatusBadRequest, "bad_name"},
		{"two token parameters", "token=" + alice + "&token=" + alice, nil, http.StatusBadRequest, "bad_token"},
		{"two different tokens", "token=" + bob, bearer(alice), http.StatusBadRequest, "bad_token"},
	}
	want := map[string]float64{}
	for _, c := range cases {
		wantRefused(t, e.env, c.what, c.rawQuery, c.header, c.status)
		want[c.label]++
	}
	clock.Advance(auth.DefaultTokenTTL + time.Second)
	wantRefused(t, e.env, "an expired token", "", bearer(alice), http.StatusUnauthorized)
	want["bad_credentials"]++

	for label, n := range want {
		if got := e.metric(t, "chat_connections_refused_total", map[string]string{"reason": label}); got != n {
			t.Errorf("refused{reason=%q} = %v, want %v", label, got, n)
		}
	}
	// Nothing was created for the refused requests: no connection is
	// open, and the next one is alone online.
	if open := e.srv.Open(); open != 0 {
		t.Fatalf("%d connections open after refusals", open)
	}
	late := dialQuery(t, e.env, "", "bob", withHeader(bearer(e.login(t, "bob", "correct horse"))))
	if w := late.expect(t, "welcome"); len(w.Users) != 1 {
		t.Fatalf("online after the refusals: %v, want bob alone", w.Users)
	}
}

// TestTakeoverWithAnyTokenOfTheUser: a second connection of the same user
// takes over whichever of the user's tokens it presents; another user's
// token never does.
func TestTakeoverWithAnyTokenOfTheUser(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	first := e.register(t, "alice", "correct horse")
	second := e.login(t, "alice", "correct horse")
	bob := e.register(t, "bob", "correct horse")

	old := joinToken(t, e.env, first, "alice")
	now := joinWith(t, e.env, "user=alice&token="+second, nil, "alice")
	old.expectError(t, wire.CodeSessionReplaced)
	old.expectClose(t, wire.CloseReplaced)

	wantRefused(t, e.env, "bob's token for alice", "user=alice", bearer(bob), http.StatusForbidden)
	now.expectNothing(t, quiet)
	now.who(t, "", "still-alice")
}

// TestLogoutClosesTheConnectionOfTheToken: the live connection opened with
// a token gets credentials_revoked and 4003 when the token is logged out,
// and a connection opened with another token of the user is untouched.
func TestLogoutClosesTheConnectionOfTheToken(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	t1 := e.register(t, "alice", "correct horse")
	t2 := e.login(t, "alice", "correct horse")
	t3 := e.login(t, "alice", "correct horse")

	c1 := joinWith(t, e.env, "token="+t1, nil, "alice")
	wantAnswer(t, "logout t1", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(t1)...), http.StatusNoContent, "")
	c1.expectError(t, wire.CodeCredentialsRevoked)
	c1.expectClose(t, wire.CloseCredentialsRevoked)
	wantRefused(t, e.env, "the logged-out token", "token="+t1, nil, http.StatusUnauthorized)

	c2 := joinToken(t, e.env, t2, "alice")
	wantAnswer(t, "logout t3", e.call(t, http.MethodPost, "/api/logout", "", bearerHeader(t3)...), http.StatusNoContent, "")
	c2.expectNothing(t, quiet)
	c2.who(t, "", "still-open")

	if got := e.metric(t, "chat_connections_closed_total", map[string]string{"reason": "credentials_revoked"}); got != 1 {
		t.Errorf("closed{reason=credentials_revoked} = %v, want 1", got)
	}
	if got := e.metric(t, "chat_errors_total", map[string]string{"code": "credentials_revoked"}); got != 1 {
		t.Errorf("errors{code=credentials_revoked} = %v, want 1", got)
	}
}

// TestPasswordChangeClosesTheOtherTokensConnections: the token a password
// is changed with keeps its connection; the user's others lose theirs.
func TestPasswordChangeClosesTheOtherTokensConnections(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	other := e.register(t, "alice", "correct horse")
	current := e.login(t, "alice", "correct horse")
	change := func(old, next string) {
		t.Helper()
		body := `{"password":"` + old + `","new_password":"` + next + `"}`
		wantAnswer(t, "change", e.postJSON(t, "/api/password", body, bearerHeader(current)...), http.StatusNoContent, "")
	}

	c := joinToken(t, e.env, other, "alice")
	change("correct horse", "second horse")
	c.expectError(t, wire.CodeCredentialsRevoked)
	c.expectClose(t, wire.CloseCredentialsRevoked)

	c = joinToken(t, e.env, current, "alice")
	change("second horse", "third horse")
	c.expectNothing(t, quiet)
	c.who(t, "", "still-open")
}

// TestOperatorCommandsCloseConnections: the operator's reset, disable and
// revoke each close the user's connection with 4003.
func TestOperatorCommandsCloseConnections(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	e.register(t, "alice", "correct horse")
	for _, c := range []struct {
		what    string
		command func() error
	}{
		{"reset", func() error { return e.svc.ResetPassword(t.Context(), "alice", "correct horse") }},
		{"revoke", func() error { return e.svc.RevokeAll("alice") }},
		{"disable", func() error { return e.svc.Disable("alice") }},
	} {
		conn := joinToken(t, e.env, e.login(t, "alice", "correct horse"), "alice")
		if err := c.command(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		conn.expectError(t, wire.CodeCredentialsRevoked)
		conn.expectClose(t, wire.CloseCredentialsRevoked)
	}
}

// revokingVerifier verifies with the accounts service and, the first
// time, revokes the token it has just accepted before answering: the
// revocation lands between the upgrade's check and the session's attach,
// when the user has no actor to tell.
type revokingVerifier struct {
	svc  *auth.Service
	done atomic.Bool // it has revoked
}

func (v *revokingVerifier) Verify(token string) (auth.Identity, error) {
	id, err := v.svc.Verify(token)
	if err == nil && v.done.CompareAndSwap(false, true) {
		if lerr := v.svc.Logout(token); lerr != nil {
			return auth.Identity{}, lerr
		}
	}
	return id, err
}

// TestRevocationBeforeTheAttachCannotSlipThrough: a token revoked after
// the upgrade accepted it and before its session attached still ends the
// session, with 4003, right after its welcome.
func TestRevocationBeforeTheAttachCannotSlipThrough(t *testing.T) {
	t.Parallel()
	var v *revokingVerifier
	e := startAccounts(t, nil, withChat(func(_ *actors.Chat, c *server.Config) {
		v = &revokingVerifier{svc: c.Accounts}
		c.Verifier = v
	}))
	token := e.register(t, "alice", "correct horse")
	c := joinToken(t, e.env, token, "alice")
	if !v.done.Load() {
		t.Fatal("the verifier revoked nothing")
	}
	c.expectError(t, wire.CodeCredentialsRevoked)
	c.expectClose(t, wire.CloseCredentialsRevoked)
}

// TestDMToAnAccountThatNeverConnected: every account is known, online or
// not, from its registration on: a dm to one that has never connected is
// queued and delivered on its first connection. A name without an account
// is unknown_user.
func TestDMToAnAccountThatNeverConnected(t *testing.T) {
	t.Parallel()
	e := startAccounts(t, nil)
	alice := joinToken(t, e.env, e.register(t, "alice", "correct horse"), "alice")
	bobToken := e.register(t, "bob", "correct horse")
	if err := func() error { _, err := e.svc.Create(t.Context(), "carol", "correct horse"); return err }(); err != nil {
		t.Fatal(err)
	}

	for _, to := range []string{"bob", "carol"} {
		if sent := alice.dm(t, to, "hello "+to, "dm-"+to); !sent.Queued {
			t.Fatalf("dm to %s: %s, want queued", to, sent.Raw)
		}
	}
	alice.sendFrame(t, dmFrame("dave", "hello?", "dm-dave"))
	alice.expectError(t, wire.CodeUnknownUser)

	bob := joinToken(t, e.env, bobToken, "bob")
	m := bob.expect(t, "message")
	if m.From != "alice" || m.Text != "hello bob" || !m.Offline {
		t.Fatalf("bob got %s, want alice's dm, offline", m.Raw)
	}
}
