package client

import (
	"context"
	"fmt"
	"os"

	"github.com/chzyer/readline"
)

// IsTerminal reports whether fd (os.Stdin.Fd(), say) is a terminal, which
// is when cmd/chat uses RunTerminal rather than RunLines.
func IsTerminal(fd uintptr) bool {
	return readline.IsTerminal(int(fd))
}

// RunTerminal is the client for a person at a terminal: a line editor with
// history on standard input and output, incoming messages printed above the
// prompt without disturbing the line being typed, in colors. When the
// server wants a password it asks for it without echo, pausing the chat
// (console.go). It returns when the user quits (/quit, /logout, Ctrl-D,
// Ctrl-C on an empty line) with nil, or with Run's error when the client
// cannot go on (ErrSessionReplaced, ErrRevoked, *RefusedError,
// *SignInError, the context's error).
func RunTerminal(ctx context.Context, cfg Config) error {
	return runTerminal(ctx, cfg, os.Stdin, os.Stdout)
}

// runTerminal is RunTerminal on the terminal in and out.
func runTerminal(ctx context.Context, cfg Config, in, out *os.File) error {
	cfg = cfg.withDefaults()
	con := newConsole(in, out, cfg.User+"> ")
	p := newPrinter(cfg, con.screen, true)
	if cfg.JSON {
		p.notices = con.notices
	}
	s, err := startSession(ctx, cfg, p, nil, con)
	if err != nil {
		return err
	}
	defer s.order.close() // Run has returned by then: print what is held
	s.interactive = true
	lines := make(chan string)
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		con.read(lines, s.c.Settled(), stop)
	}()
	defer func() {
		close(stop)
		con.stopReading()
		<-readerDone
	}()
	if ended, err := s.feed(lines); ended {
		return err
	}
	return s.quit()
}

// quit leaves: if connected, it gives unanswered requests up to the drain
// timeout to be confirmed, then closes, and warns about any left.
func (s *session) quit() error {
	if n := s.c.Pending(); n > 0 && s.c.Connected() {
		s.p.notice(fmt.Sprintf("waiting for the server to confirm %d message(s)...", n))
		if ended, err := s.drain(s.cfg.DrainTimeout); ended {
			return err
		}
	}
	s.c.Close()
	err := <-s.runErr
	if n := s.c.Pending(); n > 0 {
		s.p.notice(fmt.Sprintf("%d message(s) were not confirmed and may not have been delivered", n))
	}
	return err
}
