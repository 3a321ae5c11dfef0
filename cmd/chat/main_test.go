package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// runChat runs the command with args, environment env and stdin, bounded
// in time.
func runChat(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runChatWith(t, nil, env, stdin, args...)
}

// runChatWith is runChat with setup, when not nil, applied to the
// invocation.
func runChatWith(t *testing.T, setup func(*invocation), env map[string]string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	inv := invocation{
		args:   args,
		getenv: func(k string) string { return env[k] },
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
	}
	if setup != nil {
		setup(&inv)
	}
	code := run(ctx, inv)
	return result{code, stdout.String(), stderr.String()}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no user", nil, nil, "-user is required"},
		{"invalid user", nil, []string{"-user", "Bad Name"}, `invalid user name "Bad Name"`},
		{"invalid user from env", map[string]string{"CHAT_USER": "é"}, nil, "invalid user name"},
		{"history too large", nil, []string{"-user", "a", "-history", "201"}, "-history 201"},
		{"negative history", nil, []string{"-user", "a", "-history", "-1"}, "-history -1"},
		{"bad CHAT_HISTORY", map[string]string{"CHAT_HISTORY": "lots"}, []string{"-user", "a"}, "CHAT_HISTORY"},
		{"bad CHAT_JSON", map[string]string{"CHAT_JSON": "maybe"}, []string{"-user", "a"}, "CHAT_JSON"},
		{"stray argument", nil, []string{"-user", "a", "hello"}, `unexpected argument "hello"`},
		{"bad server URL", nil, []string{"-user", "a", "-server", "ftp://x"}, "ws:// or wss://"},
		{"missing password file", nil, []string{"-user", "a", "-password-file", "/nonexistent/pw"}, "-password-file"},
		{"missing CA file", nil, []string{"-user", "a", "-ca", "/nonexistent/ca.pem"}, "-ca"},
		{"bad CHAT_REGISTER", map[string]string{"CHAT_REGISTER": "maybe"}, []string{"-user", "a"}, "CHAT_REGISTER"},
		{"token with a space", map[string]string{"CHAT_TOKEN": "a b"}, []string{"-user", "a"}, "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runChat(t, tt.env, "", tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d", r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("stderr = %q, want one line containing %q", r.stderr, tt.want)
			}
		})
	}
}

func TestUnknownFlag(t *testing.T) {
	t.Parallel()
	if r := runChat(t, nil, "", "-user", "a", "-color"); r.code != exitUsage {
		t.Errorf("exit code %d for an unknown flag, want %d", r.code, exitUsage)
	}
}

func TestHelpListsFlags(t *testing.T) {
	t.Parallel()
	r := runChat(t, nil, "", "-h")
	if r.code != exitOK {
		t.Errorf("-h exit code %d, want 0", r.code)
	}
	for _, want := range []string{"-server", "-user", "-json", "-history", "CHAT_SERVER", "CHAT_USER", "/dm <user> <text>",
		"-token", "CHAT_TOKEN", "-password-file", "CHAT_PASSWORD", "-register", "-ca", "/logout", "/passwd",
		"3    sign-in failed", "4    signed out"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("-h output lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestRefusedNameExits2(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		http.Error(w, "invalid user name: reserved", http.StatusBadRequest)
	}))
	defer srv.Close()
	r := runChat(t, map[string]string{"CHAT_SERVER": srv.URL}, "hi\n", "-user", "admin")
	if r.code != exitUsage {
		t.Errorf("exit code %d, want %d", r.code, exitUsage)
	}
	if want := "chat: the server refused the connection: invalid user name: reserved\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestPipedLinesExit0(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(echoServer(t)))
	defer srv.Close()
	env := map[string]string{"CHAT_SERVER": "ws" + strings.TrimPrefix(srv.URL, "http"), "CHAT_USER": "Alice", "CHAT_HISTORY": "0"}
	r := runChat(t, env, "first\nsecond\n")
	if r.code != exitOK {
		t.Fatalf("exit code %d, want 0; stderr: %s", r.code, r.stderr)
	}
	first, second := strings.Index(r.stdout, "<alice> first"), strings.Index(r.stdout, "<alice> second")
	if first < 0 || second < first {
		t.Errorf("stdout lacks both messages in order:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("colors in piped output:\n%q", r.stdout)
	}
}

// echoServer is a minimal chat server: it welcomes the user and answers
// each say with a receipt and the public copy.
func echoServer(t *testing.T) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		user := r.URL.Query().Get("user")
		ts := wire.FormatTS(time.Now().UnixMilli())
		_ = ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"welcome","user":%q,"users":[%q],"online":1,"ts":%q}`, user, user, ts)))
		for n := 1; ; n++ {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f wire.ClientFrame
			if err := json.Unmarshal(data, &f); err != nil || f.Type != "say" || f.Ref == nil {
				t.Errorf("unexpected frame %q", data)
				continue
			}
			_ = ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"sent","ref":%q,"id":"%d","ts":%q}`, *f.Ref, n, ts)))
			_ = ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"message","id":"%d","kind":"public","from":%q,"text":%q,"ts":%q}`, n, user, f.Text, ts)))
		}
	}
}
