package client

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aliceServer is a version 2 fake with the account alice, and a config
// that signs in with its password and caches in a fresh directory.
func aliceServer(t *testing.T) (*fakeServer, Config) {
	t.Helper()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	cfg := signedInConfig(fs, testTokenDir(t))
	cfg.Password = func() (string, error) { return "correct horse", nil }
	return fs, cfg
}

// /logout in a script: what was typed before it is answered first, then
// the server revokes the token, the cache forgets it and the run ends
// cleanly, although the server closes the connection with 4003.
func TestLogoutRevokesAndForgets(t *testing.T) {
	t.Parallel()
	fs, cfg := aliceServer(t)
	out := newLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- RunLines(context.Background(), cfg, strings.NewReader("hello\n/logout\nnever sent\n"), out)
	}()
	fc := fs.accept()
	go fc.respond(t, false)
	if err := expectRunEnd(t, done); err != nil {
		t.Fatalf("RunLines = %v, want nil; output:\n%s", err, strings.Join(out.all(), "\n"))
	}
	if bearers := fs.auth.bearerLog(); len(bearers) != 1 || bearers[0] != fc.token {
		t.Errorf("logout carried bearers %q, want the connection's token", bearers)
	}
	if _, ok := fs.auth.userOf(fc.token); ok {
		t.Error("the token is still valid on the server")
	}
	if _, ok := (TokenCache{Dir: cfg.TokenDir}).Load(serverKeyOf(t, fs), "alice"); ok {
		t.Error("the token is still saved")
	}
	if out.count("<alice> hello") != 1 || out.count("signed out: the server revoked this sign-in") != 1 {
		t.Errorf("output lacks the message or the sign-out:\n%s", strings.Join(out.all(), "\n"))
	}
	if out.count("never sent") != 0 {
		t.Errorf("a line after /logout was sent:\n%s", strings.Join(out.all(), "\n"))
	}
}

// /logout against a version 1 server refuses locally, and the chat goes on.
func TestLogoutWithoutAccountRefusedLocally(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	out := newLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- RunLines(context.Background(), testConfig(fs), strings.NewReader("/logout\nstill here\n"), out)
	}()
	go fs.accept().respond(t, false)
	err := expectRunEnd(t, done)
	if err == nil || !strings.Contains(err.Error(), "1 request(s) refused") {
		t.Errorf("RunLines = %v, want the refused /logout counted", err)
	}
	if out.count("/logout: not signed in") != 1 || out.count("<alice> still here") != 1 {
		t.Errorf("output:\n%s", strings.Join(out.all(), "\n"))
	}
}

// /passwd asks for the current password and the new one twice, changes
// it, and the chat goes on with the same token, still saved; the user's
// other sign-ins are closed with 4003 by the server.
func TestPasswdChangesPasswordAndKeepsThisSignIn(t *testing.T) {
	t.Parallel()
	fs, cfg := aliceServer(t)
	otherCfg := testConfig(fs)
	otherCfg.Token = fs.auth.issue("alice") // alice on another device
	_, _, otherDone := runClient(t, otherCfg)
	fs.accept()

	asker, p := newAsker("correct horse", "new password 1", "new password 1")
	out := newLineWriter()
	s, err := startSession(context.Background(), cfg, newPrinter(cfg, out, false), nil, asker)
	must(t, err)
	fc := fs.accept()
	s.handleLine("/passwd")
	out.waitFor(t, "password changed; your sign-ins elsewhere were signed out, this one goes on")

	if err := expectRunEnd(t, otherDone); !errors.Is(err, ErrRevoked) {
		t.Errorf("the other sign-in's Run = %v, want ErrRevoked", err)
	}
	if _, ok := fs.auth.userOf(fc.token); !ok {
		t.Error("this sign-in's token was revoked")
	}
	if g, _ := (TokenCache{Dir: cfg.TokenDir}).Load(serverKeyOf(t, fs), "alice"); g.Token != fc.token {
		t.Errorf("cache holds %q, want this sign-in's token", g.Token)
	}
	if fs.auth.passwordOf("alice") != "new password 1" {
		t.Error("the password did not change")
	}
	asked, _ := p.transcript()
	if want := "password: current password: |password: new password (at least 8 characters): |password: the same password again: "; strings.Join(asked, "|") != want {
		t.Errorf("asked %q", asked)
	}
	s.handleLine("still chatting")
	if f := fc.expect(t); f.Type != "say" || f.Text != "still chatting" {
		t.Errorf("after /passwd the server got %+v, want the say", f)
	}
	must(t, closeQuietly(s))
}

// /passwd refuses locally where it cannot work: with nobody to ask (a
// pipe), with no account, or a wrong current password.
func TestPasswdRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		v1      bool
		asker   bool
		answers []string
		want    string
	}{
		{"no terminal", false, false, nil, "/passwd: it asks for passwords without echo, so it needs a terminal"},
		{"no account", true, true, nil, "/passwd: not signed in"},
		{"wrong password", false, true, []string{"wrong horse", "new password 1", "new password 1"}, "/passwd: the current password is wrong"},
		{"gave up", false, true, []string{"correct horse"}, "/passwd: password not changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, cfg := aliceServer(t)
			if tt.v1 {
				fs = newFakeServer(t)
				cfg = testConfig(fs)
			}
			var asker Asker
			if tt.asker {
				asker, _ = newAsker(tt.answers...)
			}
			out := newLineWriter()
			s, err := startSession(context.Background(), cfg, newPrinter(cfg, out, false), nil, asker)
			must(t, err)
			fs.accept()
			<-s.c.Welcomed()
			s.handleLine("/passwd")
			out.waitFor(t, tt.want)
			must(t, closeQuietly(s))
		})
	}
}

// closeQuietly closes a session's client and waits for Run.
func closeQuietly(s *session) error {
	s.c.Close()
	return <-s.runErr
}

// Over TLS with a private CA (-ca): the API call and the WebSocket both
// trust it; without it, neither does.
func TestPrivateCAOverTLS(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := fakeServerOf(t, []*fakeAuth{fa})
	fs.srv = httptest.NewTLSServer(fs.routes())
	fs.url = "wss" + strings.TrimPrefix(fs.srv.URL, "https") + "/chat"
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fs.srv.Certificate().Raw}), 0o600))

	cfg := signedInConfig(fs, testTokenDir(t))
	cfg.Password = func() (string, error) { return "correct horse", nil }
	untrusting := cfg
	_, events, _ := runClient(t, untrusting)
	ev := nextEvent(t, events, "dial failure", func(ev Event) bool { return ev.Down })
	if !strings.Contains(ev.Notice, "certificate") {
		t.Errorf("notice %q, want a certificate failure", ev.Notice)
	}

	tlsCfg, err := LoadCA(caFile)
	must(t, err)
	cfg.TLS = tlsCfg
	runClient(t, cfg)
	if fc := fs.accept(); fc.token == "" {
		t.Error("connected without a token")
	}
	if calls := fa.callLog(); len(calls) != 1 || calls[0] != "login alice" {
		t.Errorf("API calls %q, want one login over https", calls)
	}
}

func TestLoadCARefusesNonPEM(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(file, []byte("not a certificate"), 0o600))
	if _, err := LoadCA(file); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("LoadCA = %v, want a refusal", err)
	}
	if _, err := LoadCA(file + ".missing"); err == nil {
		t.Error("LoadCA of a missing file succeeded")
	}
}
