package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// adminServer is chatd in accounts mode, run in-process as main runs it.
type adminServer struct {
	addr    string // the chat address, host:port
	dataDir string
	logs    *syncBuffer
	stop    func() // cancels and waits for run to return
}

var adminListeningRE = regexp.MustCompile(`msg=listening what=admin socket=(\S+)`)

// startAdminServer starts chatd with a memory store, registration closed
// and its data (hence its admin socket) in a fresh directory.
func startAdminServer(t *testing.T) *adminServer {
	t.Helper()
	dir := shortTempDir(t)
	c := launch(t, nil, "-addr", "127.0.0.1:0", "-store", "memory", "-data", dir, "-registration", "closed")
	c.await(adminListeningRE)
	return &adminServer{addr: c.addr, dataDir: dir, logs: c.logs, stop: c.stop}
}

// admin runs `chatd admin -data DIR args...` with stdin, returning its
// exit code, stdout and stderr.
func (s *adminServer) admin(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	args = append([]string{"-data", s.dataDir, "-timeout", "10s"}, args...)
	code = runAdmin(context.Background(), args, env(nil), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustAdmin runs a command that must succeed and returns its output.
func (s *adminServer) mustAdmin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := s.admin(stdin, args...)
	if code != exitOK {
		t.Fatalf("chatd admin %v: exit %d, %s", args, code, errOut)
	}
	return out
}

// wantExit runs a command that must fail with code and a one-line error.
func (s *adminServer) wantExit(t *testing.T, code int, stdin string, args ...string) {
	t.Helper()
	got, out, errOut := s.admin(stdin, args...)
	if got != code || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "chatd admin: ") {
		t.Fatalf("chatd admin %v: exit %d, stdout %q, stderr %q; want exit %d and one error line", args, got, out, errOut, code)
	}
}

// post posts a JSON body to the chat address's API; token, if set, is sent
// as a bearer token. It returns the status and the token of a grant.
func (s *adminServer) post(t *testing.T, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var g struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&g) // empty for 204
	return resp.StatusCode, g.Token
}

// login logs name in over HTTP and returns the status and token.
func (s *adminServer) login(t *testing.T, name, password string) (int, string) {
	t.Helper()
	return s.post(t, "/api/login", `{"name":"`+name+`","password":"`+password+`"}`, "")
}

func TestAdminCommandsEndToEnd(t *testing.T) {
	t.Parallel()
	s := startAdminServer(t)
	socket := filepath.Join(s.dataDir, "admin", "chatd.sock")
	if fi, err := os.Stat(socket); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("admin socket %s: %v, %v; want a socket of mode 0600", socket, fi.Mode(), err)
	}

	// Registration is closed; the operator creates the account.
	if status, _ := s.post(t, "/api/register", `{"name":"alice","password":"correct horse"}`, ""); status != http.StatusForbidden {
		t.Fatalf("register with registration closed: %d", status)
	}
	if out := s.mustAdmin(t, "correct horse\n", "create", "Alice"); out != "created alice\n" {
		t.Fatalf("create printed %q", out)
	}
	status, token := s.login(t, "alice", "correct horse")
	if status != http.StatusOK || token == "" {
		t.Fatalf("login after create: %d", status)
	}
	out := s.mustAdmin(t, "", "list")
	if !regexp.MustCompile(`(?m)^NAME +CREATED +STATUS +TOKENS\nalice +\d{4}-\d\d-\d\dT[\d:.]+Z +enabled +1\n$`).MatchString(out) {
		t.Fatalf("list printed:\n%s", out)
	}

	// passwd from a file: the old token and password are gone.
	pwFile := filepath.Join(s.dataDir, "pw")
	if err := os.WriteFile(pwFile, []byte("new password\r\nignored line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.mustAdmin(t, "", "-password-file", pwFile, "passwd", "alice")
	if status, _ := s.post(t, "/api/logout", "", token); status != http.StatusUnauthorized {
		t.Fatalf("the token after passwd: %d, want 401", status)
	}
	if status, _ := s.login(t, "alice", "correct horse"); status != http.StatusUnauthorized {
		t.Fatalf("the old password after passwd: %d, want 401", status)
	}
	_, token = s.login(t, "alice", "new password")

	s.mustAdmin(t, "", "disable", "alice")
	if status, _ := s.post(t, "/api/logout", "", token); status != http.StatusUnauthorized {
		t.Fatalf("the token after disable: %d, want 401", status)
	}
	if status, _ := s.login(t, "alice", "new password"); status != http.StatusForbidden {
		t.Fatalf("login while disabled: %d, want 403", status)
	}
	if out := s.mustAdmin(t, "", "list"); !strings.Contains(out, " disabled ") {
		t.Fatalf("list after disable:\n%s", out)
	}
	s.mustAdmin(t, "", "enable", "alice")
	_, token = s.login(t, "alice", "new password")
	s.mustAdmin(t, "", "revoke", "alice")
	if status, _ := s.post(t, "/api/logout", "", token); status != http.StatusUnauthorized {
		t.Fatalf("the token after revoke: %d, want 401", status)
	}

	// Refusals, each with its exit code and one line.
	s.wantExit(t, exitTaken, "another password\n", "create", "alice")
	s.wantExit(t, exitRefused, "correct horse\n", "create", "bad name")
	s.wantExit(t, exitRefused, "short\n", "create", "bob")
	s.wantExit(t, exitNotFound, "", "disable", "nobody")
	s.wantExit(t, exitNotFound, "correct horse\n", "passwd", "nobody")
	s.wantExit(t, exitUsage, "", "create", "bob") // no password on stdin
	s.wantExit(t, exitUsage, "", "frobnicate", "bob")
	s.wantExit(t, exitUsage, "", "disable")
	s.wantExit(t, exitUsage, "", "list", "extra")

	s.stop()
	if _, err := os.Lstat(socket); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived the server: %v", err)
	}
	s.wantExit(t, exitUnreachable, "", "list")
}

func TestAdminSocketFollowsTheFlag(t *testing.T) {
	t.Parallel()
	// The same -admin-socket (here by its variable) finds the same socket.
	socket := filepath.Join(shortTempDir(t), "ops", "chatd.sock")
	vars := map[string]string{"CHAT_ADMIN_SOCKET": socket}
	launch(t, vars, "-addr", "127.0.0.1:0", "-store", "memory").await(adminListeningRE)
	var out, errOut bytes.Buffer
	if code := runAdmin(t.Context(), []string{"list"}, env(vars), strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("list: exit %d, %s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "NAME") {
		t.Fatalf("list printed %q", out.String())
	}
}
