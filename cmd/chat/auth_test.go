package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// accountsServer is a version 2 server for the command's tests: alice's
// password is "correct horse" and her only token "good"; the upgrade wants
// it (401 otherwise), and with revoke set the server closes every
// connection with 4003 after its welcome.
func accountsServer(t *testing.T, revoke bool) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Name, Password string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		w.Header().Set("Content-Type", "application/json")
		if b.Name != "alice" || b.Password != "correct horse" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"bad_credentials","message":"name or password is wrong"}`))
			return
		}
		_, _ = w.Write([]byte(`{"user":"alice","token":"good","expires":"2099-01-01T00:00:00.000Z"}`))
	})
	chat := echoServer(t)
	mux.HandleFunc("/chat", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			http.Error(w, "missing, unknown, expired or revoked token", http.StatusUnauthorized)
			return
		}
		if !revoke {
			chat(w, r)
			return
		}
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"welcome","user":"alice","users":["alice"],"online":1,"ts":"2026-11-28T12:00:00.000Z"}`))
		msg := websocket.FormatCloseMessage(4003, "credentials revoked")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat"
}

// runSignedIn runs the command with stdin, saving tokens in dir.
func runSignedIn(t *testing.T, dir string, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runChatWith(t, func(inv *invocation) {
		inv.tokenDir = func() (string, error) { return dir, nil }
	}, env, stdin, args...)
}

// A script signs in with -password-file, chats, and the token is saved
// 0600 for the next run, which needs no password.
func TestScriptSignsInWithPasswordFile(t *testing.T) {
	t.Parallel()
	url := accountsServer(t, false)
	dir := filepath.Join(t.TempDir(), "actorchat", "tokens")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CHAT_SERVER": url, "CHAT_HISTORY": "0"}
	r := runSignedIn(t, dir, env, "hi\n", "-user", "alice", "-password-file", pwFile)
	if r.code != exitOK || !strings.Contains(r.stdout, "<alice> hi") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("%d files saved, want 1", len(files))
	}
	if fi, _ := os.Stat(filepath.Join(dir, files[0].Name())); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	r = runSignedIn(t, dir, env, "again\n", "-user", "alice")
	if r.code != exitOK || !strings.Contains(r.stdout, "<alice> again") {
		t.Errorf("second run with the saved token: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, "good") || strings.Contains(out, "correct horse") {
			t.Errorf("a token or password was printed: %q", out)
		}
	}
}

// A script with no password against a server that wants one fails with
// one line saying what to set, and exit code 3; so does a wrong password.
func TestScriptWithoutCredentialsExits3(t *testing.T) {
	t.Parallel()
	url := accountsServer(t, false)
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no password", nil, "set CHAT_PASSWORD or -password-file"},
		{"wrong password", map[string]string{"CHAT_PASSWORD": "wrong horse"}, "no account alice or wrong password"},
		{"refused token", map[string]string{"CHAT_TOKEN": "forged"}, "did not accept the token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CHAT_SERVER": url}
			for k, v := range tt.env {
				env[k] = v
			}
			r := runSignedIn(t, t.TempDir(), env, "hi\n", "-user", "alice")
			if r.code != exitSignIn {
				t.Errorf("exit code %d, want %d; stderr %q", r.code, exitSignIn, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("stderr = %q, want one line containing %q", r.stderr, tt.want)
			}
		})
	}
}

// A token in CHAT_TOKEN is used as is and never saved.
func TestTokenFromEnvironmentNeverSaved(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tokens")
	env := map[string]string{"CHAT_SERVER": accountsServer(t, false), "CHAT_TOKEN": "good", "CHAT_HISTORY": "0"}
	r := runSignedIn(t, dir, env, "hi\n", "-user", "alice")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the token directory exists (%v); a given token is never saved", err)
	}
}

// Close code 4003 exits with its own code, 4.
func TestRevokedExits4(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CHAT_SERVER": accountsServer(t, true), "CHAT_PASSWORD": "correct horse"}
	r := runSignedIn(t, t.TempDir(), env, "", "-user", "alice")
	if r.code != exitRevoked {
		t.Errorf("exit code %d, want %d; stdout %q, stderr %q", r.code, exitRevoked, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "signed out: your credentials were revoked (logout, password change, or the account was disabled)") {
		t.Errorf("stdout lacks the reason: %q", r.stdout)
	}
}
