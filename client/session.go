package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// session is what the two user interfaces share: a running client, the
// printer, the order of the user's own lines, and the handling of typed
// lines. Owned by the interface's main goroutine.
type session struct {
	// Set at construction.
	ctx         context.Context // Run's; bounds the accounts API calls too
	cfg         Config
	c           *Client
	asker       Asker // asks for passwords; nil when nobody can be asked
	p           *printer
	order       *ownOrder     // prints events, the user's own in the order sent
	runErr      chan error    // receives Run's result once
	answered    chan struct{} // capacity 1: a request of ours has been answered
	interactive bool          // a person is typing: say when a line must wait

	failed int // lines refused locally (bad command, too long)
}

// start creates the client for cfg, printing through p in the order of
// ownOrder (refusals are also counted by onEvent, when set), and starts
// Run with ctx. asker, when not nil, asks the user for passwords.
func startSession(ctx context.Context, cfg Config, p *printer, onEvent func(Event), asker Asker) (*session, error) {
	s := &session{ctx: ctx, cfg: cfg, p: p, order: newOwnOrder(cfg.User, cfg.OrderWait, p.event),
		runErr: make(chan error, 1), answered: make(chan struct{}, 1), asker: asker}
	c, err := New(cfg, func(ev Event) {
		if onEvent != nil {
			onEvent(ev)
		}
		if ev.Request != nil {
			s.progress()
		}
		s.order.event(ev)
	})
	if err != nil {
		return nil, err
	}
	s.c, s.cfg = c, c.cfg
	c.creds.asker = asker
	go func() { s.runErr <- c.Run(ctx) }()
	return s, nil
}

// progress notes that a request was answered, for drain.
func (s *session) progress() {
	select {
	case s.answered <- struct{}{}:
	default:
	}
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
	case CmdLogout:
		return s.logout()
	case CmdPasswd:
		s.passwd()
	default:
		s.send(cmd)
	}
	return false
}

// logout signs out once what was sent is answered (a revoked token could
// not send it), and reports whether it did, and so whether to quit.
func (s *session) logout() bool {
	s.settle(s.cfg.DrainTimeout)
	if err := s.c.Logout(s.ctx); err != nil {
		s.p.localError("/logout: " + err.Error())
		s.failed++
		return false
	}
	s.p.notice("signed out: the server revoked this sign-in and the saved token is deleted")
	return true
}

// settle waits, for at most d, until the client has been welcomed and
// every request is answered. Unlike drain it leaves Run's result alone.
func (s *session) settle(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, ch := range []<-chan struct{}{s.c.Welcomed(), s.c.Idle()} {
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// passwd asks for the current and a new password and changes it; the
// chat goes on either way.
func (s *session) passwd() {
	var err error
	switch {
	case s.asker == nil:
		err = errors.New("it asks for passwords without echo, so it needs a terminal")
	case !s.c.creds.hasToken():
		err = errors.New("not signed in: this server takes names without passwords")
	default:
		err = s.changePassword()
	}
	if err != nil {
		s.p.localError("/passwd: " + err.Error())
		s.failed++
		return
	}
	s.p.notice("password changed; your sign-ins elsewhere were signed out, this one goes on")
}

// changePassword runs the /passwd dialog and the change.
func (s *session) changePassword() error {
	var old, next string
	err := s.asker.Ask(s.ctx, func(p Prompter) error {
		var err error
		old, next, err = changePasswordDialog(p)
		return err
	})
	if err != nil {
		return err
	}
	return s.c.ChangePassword(s.ctx, old, next)
}

// send hands cmd to the client, and its answer's lines to the order.
func (s *session) send(cmd Command) {
	if _, err := s.order.send(func() (*Request, error) { return s.c.Send(cmd) }); err != nil {
		s.p.localError("not sent: " + err.Error())
		s.failed++
		return
	}
	if s.interactive && !s.c.Connected() {
		s.p.notice("not connected: this will be sent when the connection is back")
	}
}

// drain waits until the client has been welcomed and every request is
// answered, for as long as answers keep coming: it gives up after timeout
// without one. A long pipe at the server's pace takes as long as it takes.
// It returns Run's result and true if Run ended meanwhile.
func (s *session) drain(timeout time.Duration) (bool, error) {
	quiet := time.NewTimer(timeout)
	defer quiet.Stop()
	for _, ch := range []<-chan struct{}{s.c.Welcomed(), s.c.Idle()} {
		for waiting := true; waiting; {
			select {
			case <-ch:
				waiting = false
			case <-s.answered:
				quiet.Reset(timeout)
			case <-quiet.C:
				return false, nil
			case err := <-s.runErr:
				return true, err
			}
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
