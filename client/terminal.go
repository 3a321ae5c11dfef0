package client

import (
	"context"
	"errors"
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
// prompt without disturbing the line being typed, in colors. It returns
// when the user quits (/quit, Ctrl-D, Ctrl-C on an empty line) with nil, or
// with Run's error when the client cannot go on (ErrSessionReplaced,
// *RefusedError, the context's error).
func RunTerminal(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	// readline v1.5.1's Close does not cancel the reader it creates itself,
	// so Close would wait for a key press; with our own reader we can.
	stdin := readline.NewCancelableStdin(os.Stdin)
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          cfg.User + "> ",
		HistoryLimit:    1000,
		UniqueEditLine:  true, // the line comes back formatted from the server
		InterruptPrompt: "^C",
		Stdin:           stdin,
	})
	if err != nil {
		_ = stdin.Close()
		return err
	}
	defer func() {
		_ = stdin.Close()
		_ = rl.Close()
	}()
	p := newPrinter(cfg, rl.Stdout(), true)
	if cfg.JSON {
		p.notices = rl.Stderr()
	}
	s, err := startSession(ctx, cfg, p, nil, nil)
	if err != nil {
		return err
	}
	defer s.order.close() // Run has returned by then: print what is held
	s.interactive = true
	stop := make(chan struct{})
	defer close(stop)
	if ended, err := s.feed(readTerminal(rl, stop)); ended {
		return err
	}
	return s.quit()
}

// readTerminal sends the lines the user enters until Ctrl-D, Ctrl-C on an
// empty line, or stop. Ctrl-C on a line being typed just drops that line.
func readTerminal(rl *readline.Instance, stop <-chan struct{}) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		for {
			line, err := rl.Readline()
			if errors.Is(err, readline.ErrInterrupt) && line != "" {
				continue
			}
			if err != nil {
				return
			}
			select {
			case lines <- line:
			case <-stop:
				return
			}
		}
	}()
	return lines
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
