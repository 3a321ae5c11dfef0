package client

import (
	"context"
	"fmt"
	"time"
)

// session is what the two user interfaces share: a running client, the
// printer, and the handling of typed lines. Owned by the interface's main
// goroutine.
type session struct {
	// Set at construction.
	cfg         Config
	c           *Client
	p           *printer
	runErr      chan error // receives Run's result once
	interactive bool       // a person is typing: say when a line must wait

	failed int // lines refused locally (bad command, too long)
}

// start creates the client for cfg, printing through p (refusals are also
// counted by onEvent, when set), and starts Run with ctx.
func startSession(ctx context.Context, cfg Config, p *printer, onEvent func(Event)) (*session, error) {
	handle := p.event
	if onEvent != nil {
		handle = func(ev Event) { onEvent(ev); p.event(ev) }
	}
	c, err := New(cfg, handle)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: c.cfg, c: c, p: p, runErr: make(chan error, 1)}
	go func() { s.runErr <- c.Run(ctx) }()
	return s, nil
}

// handleLine acts on one typed line and reports whether it asks to quit.
func (s *session) handleLine(line string) (quit bool) {
	cmd, err := ParseCommand(line)
	if err != nil {
		s.p.localError(err.Error())
		s.failed++
		return false
	}
	switch cmd.Kind {
	case CmdNone:
	case CmdHelp:
		s.p.help()
	case CmdQuit:
		return true
	default:
		s.send(cmd)
	}
	return false
}

// send hands cmd to the client.
func (s *session) send(cmd Command) {
	if _, err := s.c.Send(cmd); err != nil {
		s.p.localError("not sent: " + err.Error())
		s.failed++
		return
	}
	if s.interactive && !s.c.Connected() {
		s.p.notice("not connected: this will be sent when the connection is back")
	}
}

// drain waits, at most timeout, until the client has been welcomed and
// every request is answered. It returns Run's result and true if Run ended
// meanwhile.
func (s *session) drain(timeout time.Duration) (bool, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, ch := range []<-chan struct{}{s.c.Welcomed(), s.c.Idle()} {
		select {
		case <-ch:
		case <-deadline.C:
			return false, nil
		case err := <-s.runErr:
			return true, err
		}
	}
	return false, nil
}

// linger keeps the connection open for d, so that replies to what was sent
// can arrive. It returns Run's result and true if Run ended meanwhile.
func (s *session) linger(d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false, nil
	case err := <-s.runErr:
		return true, err
	}
}

// close closes the client and waits for Run to return (bounded by the
// client's close timeout), then reports requests left without an answer.
func (s *session) close() error {
	s.c.Close()
	if err := <-s.runErr; err != nil {
		return err
	}
	if !s.c.wasWelcomed() {
		return fmt.Errorf("could not connect to %s", s.cfg.Server)
	}
	if n := s.c.Pending(); n > 0 {
		return fmt.Errorf("%d request(s) got no answer from the server and may not have been delivered", n)
	}
	return nil
}
