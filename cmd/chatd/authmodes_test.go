package main

// chatd's three -auth modes as wired by run: the accounts service verifies
// the upgrade and its revocations (the API's and the admin socket's) close
// live connections with 4003; the jwt mode verifies signed tokens and has
// no API; the none mode is version 1 (main_test.go).

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// wsConn is a test client's connection to chatd.
type wsConn struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialChat connects to addr's /chat with the raw query and header given,
// and returns the connection, or the HTTP status that refused it.
func dialChat(t *testing.T, addr, rawQuery string, h http.Header) (*wsConn, int) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/chat?"+rawQuery, h)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %q: %v", rawQuery, err)
		}
		_ = resp.Body.Close()
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &wsConn{t: t, ws: ws}, http.StatusSwitchingProtocols
}

// join dials with the token in the header; the first frame must be a
// welcome for user.
func join(t *testing.T, addr, token, user string) *wsConn {
	t.Helper()
	c, status := dialChat(t, addr, "", http.Header{"Authorization": {"Bearer " + token}})
	if c == nil {
		t.Fatalf("%s: refused with %d", user, status)
	}
	if f := c.next(); f.Type != "welcome" || f.User != user {
		t.Fatalf("first frame %+v, want a welcome for %s", f, user)
	}
	return c
}

// next reads the next frame.
func (c *wsConn) next() wire.ServerFrame {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading: %v", err)
	}
	f, err := wire.ParseServerFrame(data)
	if err != nil {
		c.t.Fatalf("frame %q: %v", data, err)
	}
	return f
}

// send sends a JSON request.
func (c *wsConn) send(f wire.ClientFrame) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, f.Encode()); err != nil {
		c.t.Fatalf("writing: %v", err)
	}
}

// expectRevoked reads the credentials_revoked error and the 4003 close.
func (c *wsConn) expectRevoked() {
	c.t.Helper()
	if f := c.next(); f.Type != "error" || f.Code != wire.CodeCredentialsRevoked {
		c.t.Fatalf("got %+v, want a credentials_revoked error", f)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.ws.ReadMessage(); !websocket.IsCloseError(err, wire.CloseCredentialsRevoked) {
		c.t.Fatalf("after the error: %v, want close 4003", err)
	}
}

// TestAccountsModeEndToEnd: in the default mode the upgrade wants a token,
// a dm reaches an account that never connected, and a logout (the API) or
// a disable (the admin socket) closes the connection with 4003 at once.
func TestAccountsModeEndToEnd(t *testing.T) {
	t.Parallel()
	s := startAdminServer(t)
	s.mustAdmin(t, "correct horse\n", "create", "alice")
	s.mustAdmin(t, "correct horse\n", "create", "bob")
	if _, status := dialChat(t, s.addr, "user=alice", nil); status != http.StatusUnauthorized {
		t.Fatalf("a bare user parameter: %d, want 401", status)
	}
	_, token := s.login(t, "alice", "correct horse")
	alice := join(t, s.addr, token, "alice")
	ref := "dm-1"
	alice.send(wire.ClientFrame{Type: "dm", To: "bob", Text: "hi", Ref: &ref})
	if f := alice.next(); f.Type != "sent" || !f.Queued {
		t.Fatalf("dm to bob, who never connected: %+v, want queued", f)
	}
	if status, _ := s.post(t, "/api/logout", "", token); status != http.StatusNoContent {
		t.Fatalf("logout: %d", status)
	}
	alice.expectRevoked()

	_, token = s.login(t, "alice", "correct horse")
	alice = join(t, s.addr, token, "alice")
	s.mustAdmin(t, "", "disable", "alice")
	alice.expectRevoked()
	if !regexp.MustCompile(`msg="connection closed" conn=\d+ user=alice .*reason=credentials_revoked`).MatchString(s.logs.String()) {
		t.Errorf("no log of the connection's end naming alice:\n%s", s.logs.String())
	}
}

// TestJWTModeEndToEnd: -auth jwt verifies the tokens the configured secret
// signs, for the configured audience, and serves neither the API nor the
// admin socket.
func TestJWTModeEndToEnd(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	secret := []byte(strings.Repeat("s", 32))
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, logs := runChatd(t, "-addr", "127.0.0.1:0", "-store", "memory", "-data", dir,
		"-auth", "jwt", "-jwt-secret-file", path, "-jwt-audience", "chat")
	sign := func(aud string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "Erin", "aud": aud, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	join(t, addr, sign("chat"), "erin")
	if _, status := dialChat(t, addr, "token="+sign("elsewhere"), nil); status != http.StatusUnauthorized {
		t.Fatalf("a token for another audience: %d, want 401", status)
	}
	resp, err := http.Post("http://"+addr+"/api/login", "application/json", strings.NewReader(`{"name":"erin","password":"correct horse"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/api/login in jwt mode: %d, want 404", resp.StatusCode)
	}
	if strings.Contains(logs.String(), "what=admin") {
		t.Fatalf("jwt mode opened the admin socket:\n%s", logs.String())
	}
}

// runChatd runs chatd with args until the test ends, when it must shut
// down cleanly, and returns the chat address and the logs.
func runChatd(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	c := launch(t, nil, args...)
	return c.addr, c.logs
}
