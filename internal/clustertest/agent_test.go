package clustertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// agent is a user that stays connected: on a dropped connection it dials
// the nodes in turn until one answers, and then sends again, with the same
// keys, every private message that has no receipt, as the CLI does. It
// records what was receipted and what it received, for the at-least-once
// check: everything receipted to a recipient is received by it.
type agent struct {
	t    *testing.T
	name string
	urls func() []string // the nodes' chat endpoints, now

	mu        sync.Mutex // guards the fields below
	pending   []outgoing // sent or to send, without a receipt, oldest first
	receipted map[string]outgoing
	received  map[string]bool // message texts
	connects  int             // connections made
	conn      *client
	closing   bool
	lastOK    time.Time // when the last receipt came
}

// outgoing is one private message: its text is unique and is its key.
type outgoing struct{ to, text string }

func newAgent(t *testing.T, name string, urls func() []string) *agent {
	a := &agent{t: t, name: name, urls: urls, receipted: map[string]outgoing{}, received: map[string]bool{}}
	done := make(chan struct{})
	go a.run(done)
	t.Cleanup(func() {
		a.mu.Lock()
		a.closing = true
		conn := a.conn
		a.mu.Unlock()
		if conn != nil {
			conn.close()
		}
		<-done
	})
	return a
}

// run keeps the agent connected until the test ends.
func (a *agent) run(done chan<- struct{}) {
	defer close(done)
	for i := 0; !a.isClosing(); i++ {
		urls := a.urls()
		c, err := tryDial(a.t, urls[i%len(urls)], a.name, "")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		a.serve(c)
	}
}

func (a *agent) isClosing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closing
}

// serve sends what waits, then reads until the connection ends.
func (a *agent) serve(c *client) {
	a.mu.Lock()
	if a.closing { // the test ended while this one was dialing
		a.mu.Unlock()
		c.close()
		return
	}
	a.conn, a.connects = c, a.connects+1
	resend := append([]outgoing(nil), a.pending...)
	a.mu.Unlock()
	for _, o := range resend {
		c.dm(o.to, o.text, o.text)
	}
	for f := range c.frames {
		a.handle(c, f)
	}
	a.mu.Lock()
	a.conn = nil
	a.mu.Unlock()
}

// handle records a receipt or a private message; a refused message is
// sent again a moment later.
func (a *agent) handle(c *client, f wire.ServerFrame) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case f.Type == "message" && f.Kind == "dm":
		a.received[f.Text] = true
	case f.Type == "sent" && f.Ref != nil:
		a.settle(*f.Ref)
	case f.Type == "error" && f.Ref != nil:
		text := *f.Ref
		for _, o := range a.pending {
			if o.text == text {
				time.AfterFunc(200*time.Millisecond, func() { c.dm(o.to, o.text, o.text) })
			}
		}
	}
}

// settle moves a receipted message out of pending. a.mu held.
func (a *agent) settle(text string) {
	for i, o := range a.pending {
		if o.text == text {
			a.receipted[text] = o
			a.pending = append(a.pending[:i], a.pending[i+1:]...)
			a.lastOK = time.Now()
			return
		}
	}
}

// send queues a private message to to, and writes it if connected.
func (a *agent) send(to string, n int) {
	o := outgoing{to: to, text: fmt.Sprintf("%s>%s#%d", a.name, to, n)}
	a.mu.Lock()
	a.pending = append(a.pending, o)
	c := a.conn
	a.mu.Unlock()
	if c != nil {
		c.dm(o.to, o.text, o.text)
	}
}

// unreceipted returns how many messages wait for a receipt.
func (a *agent) unreceipted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// has reports whether the agent received text.
func (a *agent) has(text string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.received[text]
}

// sentTo returns the receipted messages to name.
func (a *agent) sentTo(name string) []outgoing {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []outgoing
	for _, o := range a.receipted {
		if o.to == name {
			out = append(out, o)
		}
	}
	return out
}
