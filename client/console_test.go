//go:build unix

package client

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyScreen is the far side of a pseudo-terminal: what the program wrote,
// and a keyboard.
type ptyScreen struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	buf    bytes.Buffer
}

// newPTY opens a pseudo-terminal of 24x120 and returns the terminal side
// for the program and the screen for the test; both close at cleanup.
func newPTY(t *testing.T) (*os.File, *ptyScreen) {
	t.Helper()
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	must(t, pty.Setsize(ptm, &pty.Winsize{Rows: 24, Cols: 120}))
	master, tty := pollable(t, ptm), pollable(t, pts)
	sc := &ptyScreen{t: t, master: master}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			sc.mu.Lock()
			sc.buf.Write(b[:n])
			sc.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = tty.Close()
		_ = master.Close()
		<-done
	})
	return tty, sc
}

// pollable returns a non-blocking duplicate of f, whose Close ends a
// pending Read (pty.Open's files block, and a blocked read would keep
// them open), and closes f.
func pollable(t *testing.T, f *os.File) *os.File {
	t.Helper()
	fd, err := syscall.Dup(int(f.Fd()))
	must(t, err)
	must(t, f.Close())
	must(t, syscall.SetNonblock(fd, true))
	return os.NewFile(uintptr(fd), f.Name())
}

// text returns everything written to the screen so far.
func (sc *ptyScreen) text() string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.buf.String()
}

// waitFor waits until the screen shows substr after offset from, and
// returns the offset just past it.
func (sc *ptyScreen) waitFor(from int, substr string) int {
	sc.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		text := sc.text()
		if i := strings.Index(text[min(from, len(text)):], substr); i >= 0 {
			return from + i + len(substr)
		}
		if time.Now().After(deadline) {
			sc.t.Fatalf("the screen never showed %q; it shows:\n%q", substr, text[min(from, len(text)):])
		}
		time.Sleep(5 * time.Millisecond) // polling the screen: nothing to await
	}
}

// typeLine types line and Enter.
func (sc *ptyScreen) typeLine(line string) {
	sc.t.Helper()
	if _, err := io.WriteString(sc.master, line+"\r"); err != nil {
		sc.t.Fatal(err)
	}
}

// The terminal tests do not run in parallel: readline v1.5.1 keeps its
// terminal-width callback in a package variable that each new editor
// sets, so two editors in one process race (the CLI has one).

// At a real terminal: the first upgrade gets 401, the chat's editor
// makes way for the password prompt, the password is not echoed, the chat
// goes on; /passwd asks three times without echo and the editor comes back.
func TestTerminalSignInAndPasswdWithoutEcho(t *testing.T) {
	// Not parallel: one readline editor at a time in the process (above).
	fs, cfg := aliceServer(t)
	cfg.Password = nil // ask at the terminal
	tty, sc := newPTY(t)
	done := make(chan error, 1)
	go func() { done <- runTerminal(context.Background(), cfg, tty, tty) }()

	at := sc.waitFor(0, "password for alice (Enter alone to create the account): ")
	sc.typeLine("correct horse")
	fc := fs.accept()
	go fc.respond(t, false)
	at = sc.waitFor(at, "connected as alice")
	sc.typeLine("hello")
	at = sc.waitFor(at, "<alice>")
	at = sc.waitFor(at, "hello")

	sc.typeLine("/passwd")
	at = sc.waitFor(at, "current password: ")
	sc.typeLine("correct horse")
	at = sc.waitFor(at, "new password (at least 8 characters): ")
	sc.typeLine("battery staple")
	at = sc.waitFor(at, "the same password again: ")
	sc.typeLine("battery staple")
	at = sc.waitFor(at, "password changed")
	sc.typeLine("after")
	at = sc.waitFor(at, "after")
	sc.typeLine("/quit")
	if err := expectRunEnd(t, done); err != nil {
		t.Errorf("RunTerminal = %v, want nil after /quit", err)
	}
	for _, secret := range []string{"correct horse", "battery staple"} {
		if strings.Contains(sc.text(), secret) {
			t.Errorf("the password %q was echoed:\n%q", secret, sc.text())
		}
	}
	if fs.auth.passwordOf("alice") != "battery staple" {
		t.Error("the password did not change")
	}
	_ = at
}

// A password typed before its prompt appears (the server has yet to ask
// for one) is the password, as at any sign-in prompt, and never a chat
// line: the editor does not take lines until the first sign-in settles.
func TestTerminalPasswordTypedAheadIsNotChat(t *testing.T) {
	// Not parallel: one readline editor at a time in the process (above).
	fs, cfg := aliceServer(t)
	cfg.Password = nil // ask at the terminal
	fs.gate = make(chan struct{})
	tty, sc := newPTY(t)
	done := make(chan error, 1)
	go func() { done <- runTerminal(context.Background(), cfg, tty, tty) }()

	sc.typeLine("correct horse")
	at := sc.waitFor(0, "correct horse") // echoed: the terminal or an editor has it
	close(fs.gate)                       // now the server answers 401
	fc := fs.accept()
	at = sc.waitFor(at, "connected as alice")
	sc.typeLine("hello")
	select {
	case f := <-fc.in:
		if f.Type != "say" || f.Text != "hello" {
			t.Errorf("the first frame was %s %q, want say \"hello\"", f.Type, f.Text)
		}
		for _, js := range answers(f, 1, fc.user) {
			fc.sendRaw(t, js)
		}
	case <-time.After(waitLimit):
		t.Fatal("no frame from the client")
	}
	go fc.respond(t, false)
	sc.waitFor(at, "<alice>")
	sc.typeLine("/quit")
	if err := expectRunEnd(t, done); err != nil {
		t.Errorf("RunTerminal = %v, want nil after /quit", err)
	}
}
