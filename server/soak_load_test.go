package server_test

// The soak's load: the fake clients that churn, queue, ping and ask
// beside the well-behaved pair (soak_test.go).

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// ---------------------------------------------------------------------------
// The load
// ---------------------------------------------------------------------------

// soakLoad runs the fake clients of the soak phase: each worker loops
// until stop is closed, at the end of the phase or at the first worker's
// failure, and closes its own connections before it returns.
type soakLoad struct {
	e      *h4Env
	shape  soakShape
	ledger *h4Ledger // the queued private messages

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	errMu    sync.Mutex
	err      error // the first worker's failure

	mu         sync.Mutex
	recipients []string // every queuer's recipients, for the final drain

	cycles      atomic.Int64 // churn cycles: connect, say, disconnect
	queued      atomic.Int64 // private messages queued for offline users
	visits      atomic.Int64 // recipients who came to collect during the soak
	pingConns   atomic.Int64 // pinger connections
	pingCloses  atomic.Int64 // of those, closed with 1008
	answers     atomic.Int64 // history and users answers
	limited     atomic.Int64 // history and who refused as rate_limited
	askerCloses atomic.Int64 // askers closed with 1008
}

// start launches every worker.
func (l *soakLoad) start() {
	s := l.shape
	for w := range s.churners {
		l.spawn(func() error { return l.churner(w) })
	}
	for w := range s.queuers {
		l.spawn(func() error { return l.queuer(w) })
	}
	for w := range s.pingers {
		l.spawn(func() error { return l.pinger(w) })
	}
	for w := range s.askers {
		l.spawn(func() error { return l.asker(w) })
	}
}

// spawn runs one worker; its failure stops them all.
func (l *soakLoad) spawn(worker func() error) {
	l.wg.Go(func() {
		if err := worker(); err != nil {
			l.errMu.Lock()
			if l.err == nil {
				l.err = err
			}
			l.errMu.Unlock()
			l.halt()
		}
	})
}

// halt tells every worker to stop.
func (l *soakLoad) halt() { l.stopOnce.Do(func() { close(l.stop) }) }

// stopped reports whether the workers are to stop.
func (l *soakLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// finish stops the workers, waits for them (each step of each is bounded
// by h4Wait) and returns the first failure.
func (l *soakLoad) finish() error {
	l.halt()
	l.wg.Wait()
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// counts describes what the load did, for the log.
func (l *soakLoad) counts() string {
	return fmt.Sprintf("%d churn cycles, %d private messages queued (%d visits to collect), "+
		"%d pinger connections (%d closed 1008), %d history/who answers and %d rate_limited (%d askers closed 1008)",
		l.cycles.Load(), l.queued.Load(), l.visits.Load(), l.pingConns.Load(), l.pingCloses.Load(),
		l.answers.Load(), l.limited.Load(), l.askerCloses.Load())
}

// soakAsk sends req, which carries a ref, and waits for the frame that
// answers it (a receipt, an answer or an error). It then drops the
// client's log, so that a long-lived client does not keep what it read.
func soakAsk(c *h4Client, req wire.ClientFrame) (h4Frame, error) {
	if err := c.send(req); err != nil {
		return h4Frame{}, fmt.Errorf("%s: sending %s: %w", c.user, req.Type, err)
	}
	var reply h4Frame
	err := c.until(h4Wait, func(fs []h4Frame) bool {
		return h4Last(fs, func(f h4Frame) bool { return f.Ref != nil && *f.Ref == *req.Ref }, &reply)
	})
	if err != nil {
		return h4Frame{}, fmt.Errorf("%s: no answer to %s %s: %w", c.user, req.Type, *req.Ref, err)
	}
	c.forget()
	return reply, nil
}

// soakPace waits for the next tick, and reports false once the workers
// are to stop. Pacing, not waiting for an event: a client acting at a
// rate.
func (l *soakLoad) soakPace(tick *time.Ticker) bool {
	select {
	case <-l.stop:
		return false
	case <-tick.C:
		return true
	}
}

// churner connects as a fresh name, says something, and disconnects,
// cleanly or by dropping the TCP connection in turn, until stopped.
func (l *soakLoad) churner(w int) error {
	tick := time.NewTicker(l.shape.churnEvery)
	defer tick.Stop()
	for n := 0; l.soakPace(tick); n++ {
		name := fmt.Sprintf("soak-c%d-%d", w, n)
		c, err := h4Session(l.e, name)
		if err != nil {
			return err
		}
		reply, err := soakAsk(c, h4Say("churning as "+name, "s"))
		if err == nil && reply.Type != "sent" {
			err = fmt.Errorf("%s: say refused: %s %s", name, reply.Code, reply.Message)
		}
		if err != nil {
			c.drop()
			return err
		}
		if n%2 == 0 {
			if err := c.leave(); err != nil {
				return err
			}
		} else {
			c.drop()
		}
		l.cycles.Add(1)
	}
	return nil
}

// queuer sends private messages, under the rate limit, from one sender to
// recipients who are offline (made known by connecting once first); after
// every drainEvery messages one of the first visitors recipients comes,
// reads everything it is owed and leaves. The others collect only in the
// final drain (drainAll).
func (l *soakLoad) queuer(w int) error {
	s := l.shape
	sender, err := h4Session(l.e, fmt.Sprintf("soak-qs%d", w))
	if err != nil {
		return err
	}
	defer func() { _ = sender.leave() }()
	var recipients []string
	for i := range s.recipients {
		name := fmt.Sprintf("soak-qr%d-%d", w, i)
		c, err := h4Session(l.e, name)
		if err != nil {
			return err
		}
		if err := c.leave(); err != nil {
			return err
		}
		recipients = append(recipients, name)
	}
	l.mu.Lock()
	l.recipients = append(l.recipients, recipients...)
	l.mu.Unlock()

	tick := time.NewTicker(s.dmEvery)
	defer tick.Stop()
	for k := 0; l.soakPace(tick); k++ {
		to := recipients[k%len(recipients)]
		ref := fmt.Sprint(k)
		reply, err := soakAsk(sender, h4DM(to, fmt.Sprintf("queued %d for %s", k, to), ref))
		if err != nil {
			return err
		}
		if reply.Type != "sent" || !reply.Queued {
			return fmt.Errorf("%s: dm to offline %s: got %s %s %s (queued %v), want a queued receipt",
				sender.user, to, reply.Type, reply.Code, reply.Message, reply.Queued)
		}
		l.ledger.receipt(to, reply.ID)
		l.queued.Add(1)
		if k%s.drainEvery == s.drainEvery-1 {
			if err := l.visit(recipients[(k/s.drainEvery)%s.visitors]); err != nil {
				return err
			}
		}
	}
	return nil
}

// visit connects name, waits until it has read every private message
// with a receipt addressed to it and answered a ping that came after them
// (which confirms them), and leaves.
//
// Leaving before that confirmation is allowed, and the messages come again
// on the next connection; but the user actor passivates after UserIdle,
// and a fresh actor does not know that they were written before, so they
// come again without "redelivered" (as actors/doc.go says under
// Passivation), which the ledger would count as a duplicate.
func (l *soakLoad) visit(name string) error {
	c, err := soakConfirmingSession(l.e, name)
	if err != nil {
		return err
	}
	want := l.ledger.owed(name)
	err = c.until(h4Wait, func(fs []h4Frame) bool {
		missing := make(map[string]bool)
		for _, id := range want {
			missing[id] = true
		}
		for _, f := range fs {
			switch {
			case f.Type == "message" && f.Kind == "dm":
				delete(missing, f.ID)
			case f.Type == soakPong && len(missing) == 0:
				return true
			}
		}
		return len(want) == 0
	})
	if err != nil {
		c.drop()
		return fmt.Errorf("%s: collecting %d queued messages: %w", name, len(want), err)
	}
	err = c.leave()
	fs, _, _ := c.snapshot()
	l.ledger.read(name, fs)
	l.visits.Add(1)
	return err
}

// soakPong is the type of the pseudo-frame soakConfirmingSession logs once
// it has answered a ping.
const soakPong = "(pong sent)"

// soakConfirmingSession is h4Session for a client that logs, among its
// frames, each pong it has written in answer to a ping: the pong confirms
// every private message read before the ping, and the server reads it
// before anything the client sends later, such as its close.
func soakConfirmingSession(e *h4Env, user string) (*h4Client, error) {
	c, err := h4Connect(e, user, websocket.Dialer{HandshakeTimeout: h4Wait})
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", user, err)
	}
	c.ws.SetPingHandler(func(data string) error { // runs on the reader, in order with the frames
		c.wmu.Lock()
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(h4Wait))
		c.wmu.Unlock()
		if err == nil {
			c.mu.Lock()
			c.frames = append(c.frames, h4Frame{ServerFrame: wire.ServerFrame{Type: soakPong}, at: time.Now()})
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		return nil
	})
	go c.read()
	if err := c.until(h4Wait, func(fs []h4Frame) bool { return len(fs) > 0 }); err != nil {
		return nil, fmt.Errorf("%s: no welcome: %w", user, err)
	}
	return c, nil
}

// owed returns the ids of the private messages to user that have a
// receipt and that user has not read yet.
func (l *h4Ledger) owed(user string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id := range l.sent[user] {
		if _, read := l.delivered[user][id]; !read {
			ids = append(ids, id)
		}
	}
	return ids
}

// drainAll connects every queuer's recipient once, waits until no private
// message waits anywhere (the pair's are confirmed as they go), and
// disconnects them, recording what they read.
func (l *soakLoad) drainAll(t *testing.T) {
	t.Helper()
	var clients []*h4Client
	for _, name := range l.recipients {
		clients = append(clients, h4Join(t, l.e, name))
	}
	if !h4Eventually(func() bool { return l.e.chat.InboxDepth() == 0 }) {
		t.Errorf("%d private messages still unconfirmed with every recipient connected", l.e.chat.InboxDepth())
	}
	for _, c := range clients {
		if err := c.leave(); err != nil {
			t.Error(err)
		}
		fs, _, _ := c.snapshot()
		l.ledger.read(c.user, fs)
	}
}

// pinger connects, writes soakPings pings as fast as it can without
// reading anything, then reads: the server must have closed it with 1008
// (too many pings), having kept at most one pong waiting for it.
func (l *soakLoad) pinger(w int) error {
	tick := time.NewTicker(l.shape.pingEvery)
	defer tick.Stop()
	for l.soakPace(tick) {
		c, err := h4Connect(l.e, fmt.Sprintf("soak-ping%d", w), websocket.Dialer{HandshakeTimeout: h4Wait})
		if err != nil {
			return fmt.Errorf("pinger: %w", err)
		}
		l.pingConns.Add(1)
		for range soakPings {
			if c.ws.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(h4Wait)) != nil {
				break // closed already
			}
		}
		go c.read()
		select {
		case <-c.done:
		case <-time.After(h4Wait):
			c.drop()
			return fmt.Errorf("%s: still open %v after %d pings", c.user, h4Wait, soakPings)
		}
		_ = c.ws.Close()
		if !soakClosedForPolicy(c) {
			return fmt.Errorf("%s: after %d pings the connection ended with %v, want close 1008", c.user, soakPings, c.readErr())
		}
		l.pingCloses.Add(1)
	}
	return nil
}

// asker asks for history (soakShape.historyAsk messages) and who in turn,
// far faster than its rate limit and its connection's reply budget
// allow: refusals (rate_limited) are expected, and so is close 1008 for
// asking on while refused, after which it connects again.
func (l *soakLoad) asker(w int) error {
	tick := time.NewTicker(l.shape.askEvery)
	defer tick.Stop()
	name := fmt.Sprintf("soak-ask%d", w)
	for !l.stopped() {
		c, err := h4Session(l.e, name)
		if err != nil {
			return err
		}
		if err := l.askOn(c, tick); err != nil {
			c.drop()
			return err
		}
	}
	return nil
}

// askOn asks on c until it is stopped (then leaves) or closed with 1008.
func (l *soakLoad) askOn(c *h4Client, tick *time.Ticker) error {
	for n := 0; ; n++ {
		if !l.soakPace(tick) {
			if err := c.leave(); err != nil && !soakClosedForPolicy(c) {
				return err
			}
			return nil
		}
		ref := fmt.Sprint(n)
		req := wire.ClientFrame{Type: "who", Ref: &ref}
		if n%2 == 0 {
			req = wire.ClientFrame{Type: "history", Limit: l.shape.historyAsk, Ref: &ref}
		}
		reply, err := soakAsk(c, req)
		if err != nil {
			select {
			case <-c.done:
			default:
				return err
			}
			if soakClosedForPolicy(c) {
				_ = c.ws.Close()
				l.askerCloses.Add(1)
				return nil
			}
			return fmt.Errorf("%s: ended with %v, want close 1008 if anything: %w", c.user, c.readErr(), err)
		}
		switch {
		case reply.Type == "history" || reply.Type == "users":
			l.answers.Add(1)
		case reply.Type == "error" && reply.Code == wire.CodeRateLimited:
			l.limited.Add(1)
		default:
			return fmt.Errorf("%s: %s %s: got %s %s %s", c.user, req.Type, ref, reply.Type, reply.Code, reply.Message)
		}
	}
}

// soakClosedForPolicy reports whether c's connection has ended with close
// 1008 from the server.
func soakClosedForPolicy(c *h4Client) bool {
	select {
	case <-c.done:
	default:
		return false
	}
	var ce *websocket.CloseError
	return errors.As(c.readErr(), &ce) && ce.Code == websocket.ClosePolicyViolation
}

// soakWarmRegistry puts an entry in every shard of the actor system's
// process registry and takes it out again, before the baseline. The
// registry keeps its PIDs in 32,768 Go maps (1,024 buckets of 32 shards),
// and a Go map never gives back the memory it grew to: each shard costs a
// few hundred bytes from its first entry on, about 8 MiB once all have
// been used, which thousands of connections do. That is a fixed cost of
// the actor system, not of the load; paying it up front leaves the heap
// check to measure what the load left behind. Six keys per shard leave
// about 0.25% of the shards (e^-6) untouched, some 20 KiB.
func soakWarmRegistry(e *h4Env) {
	reg := e.chat.System().ProcessRegistry
	shards := len(reg.LocalPIDs.LocalPIDs) * len(reg.LocalPIDs.LocalPIDs[0])
	for i := range 6 * shards {
		pid, _ := reg.Add(nil, fmt.Sprint("soak-warm/", i))
		reg.Remove(pid)
	}
}
