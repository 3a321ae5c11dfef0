package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/actorchat/chat/proto/wire"
)

// RunLines is the client for input that is not a terminal (a pipe, a file,
// a test): it connects, sends every line of in as a typed line (commands
// included), and prints one line per event to out, formatted without colors
// or, with cfg.JSON, as the raw frames; the lines showing what it sent come
// in the order it sent them (order.go). Say and dm go at the pace of the
// server's rate limit (pace.go), so input of any length goes through. At
// the end of in (or at /quit) it waits until the server has welcomed it and
// answered every request, for as long as answers keep coming (it gives up
// after cfg.DrainTimeout without one), listens for cfg.Grace more so that
// replies can arrive, and closes the connection with 1000.
//
// Nobody can be asked for a password here: against a server that wants
// one, cfg.Password supplies it, or the run ends with a *SignInError.
// /logout signs out and ends the input; /passwd is refused (it asks for
// passwords without echo, which needs a terminal).
//
// It returns nil when everything sent was accepted; otherwise an error
// saying what went wrong: Run's error (ErrSessionReplaced, ErrRevoked,
// *RefusedError, *SignInError, the context's), requests refused by the
// server or locally (a command line passed to the server and answered with
// an error counts), or requests left unanswered. The goroutine reading in is abandoned, blocked in Read,
// if RunLines returns before in ends.
func RunLines(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	cfg = cfg.withDefaults()
	var refused atomic.Int64
	countRefusals := func(ev Event) {
		if isRefusal(ev) {
			refused.Add(1)
		}
	}
	s, err := startSession(ctx, cfg, newPrinter(cfg, out, false), countRefusals, nil)
	if err != nil {
		return err
	}
	defer s.order.close() // Run has returned by then: print what is held
	stop := make(chan struct{})
	defer close(stop)
	if ended, err := s.feed(readLines(in, stop, cfg)); ended {
		return err
	}
	if ended, err := s.drain(cfg.DrainTimeout); ended {
		return err
	}
	if ended, err := s.linger(cfg.Grace); ended {
		return err
	}
	if err := s.close(); err != nil {
		return err
	}
	if n := int64(s.failed) + refused.Load(); n > 0 {
		return fmt.Errorf("%d request(s) refused", n)
	}
	return nil
}

// isRefusal reports whether ev is an error refusing something this client
// sent: a request (matched by ref), or a command line passed to the server
// (those carry no ref). The errors that end a session carry no ref either
// and are not: Run reports a takeover, and after an internal error the
// client reconnects and its requests are answered on the next connection.
func isRefusal(ev Event) bool {
	if ev.Frame.Type != "error" {
		return false
	}
	if ev.Request != nil {
		return true
	}
	return ev.Frame.Ref == nil && ev.Frame.Code != wire.CodeSessionReplaced && ev.Frame.Code != wire.CodeInternal
}

// feed handles lines until they end or ask to quit. It returns Run's
// result and true if Run ended first.
func (s *session) feed(lines <-chan string) (bool, error) {
	for {
		select {
		case line, ok := <-lines:
			if !ok || s.handleLine(line) {
				return false, nil
			}
		case err := <-s.runErr:
			return true, err
		}
	}
}

// readLines sends the lines of in, without their line endings, until in
// ends or stop is closed. A read error other than EOF ends the input too,
// and is logged.
func readLines(in io.Reader, stop <-chan struct{}, cfg Config) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		r := bufio.NewReader(in)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				select {
				case lines <- strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"):
				case <-stop:
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					cfg.Logger.Error("reading input", "err", err)
				}
				return
			}
		}
	}()
	return lines
}
