package client

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// ErrSessionReplaced is returned by Run when a newer connection of the same
// user took the session over (close code 4000). The client does not
// reconnect then: that would take the session back and start a tug of war.
var ErrSessionReplaced = errors.New("session taken over by a newer connection of the same user")

// ErrClosed is returned by Send after Close, and by Run when it is called
// on a closed or already running client.
var ErrClosed = errors.New("client closed")

// RefusedError is returned by Run when the server refuses the connection
// before the WebSocket upgrade (HTTP 400, for an invalid user name).
// Retrying would be refused the same way, so Run gives up.
type RefusedError struct {
	// Status is the HTTP status code.
	Status int
	// Reason is the server's one-line explanation.
	Reason string
}

// Error returns the server's reason.
func (e *RefusedError) Error() string {
	return "server refused the connection: " + e.Reason
}

// Client keeps a connection to the chat server, reconnecting when it drops,
// and turns what the server sends into Events. See the package
// documentation for its concurrency contract.
type Client struct {
	// Set at construction, read-only after.
	cfg       Config
	urls      []string // the addresses to dial, in turn (Config.Servers)
	handle    func(Event)
	keyPrefix string // random per client run, so keys never repeat across runs
	dialer    *websocket.Dialer
	creds     *credentials // the token presented at the upgrade (credentials.go)

	// Closed once, by settle (Settled says when), from any goroutine.
	settled    chan struct{}
	settleOnce sync.Once

	// Guarded by mu.
	mu        sync.Mutex
	nextRef   uint64             // counter behind refs and keys
	pending   *pendingList       // requests without an answer yet
	idle      chan struct{}      // closed while pending is empty
	conn      *connection        // the live connection; nil between connections
	running   bool               // Run has been called
	closing   bool               // Close has been called
	cancel    context.CancelFunc // stops Run between connections
	everConn  bool               // a welcome has arrived before
	welcome   chan struct{}      // closed at the first welcome
	pace      pacer              // the pace of say and dm frames (pace.go)
	loggedOut bool               // Logout revoked the token: its 4003 ends Run quietly

	// Guarded by emitMu, which also keeps handler calls one at a time.
	emitMu  sync.Mutex
	holding bool    // events wait in held for the history answer
	held    []Event // events held back, oldest first
	holdGen uint64  // counts holds, so a stale timer cannot end a newer one

	// Owned by the Run goroutine.
	seen         *seenSet // ids of messages already shown
	historyRef   string   // ref of this connection's history request
	historyN     uint64   // counter behind historyRef
	welcomed     bool     // this connection got its welcome
	dialFailures int      // failed dials since the last welcome
	at           int      // urls[at] is the address dialed next
	replaced     bool     // this connection got a session_replaced error
	revoked      bool     // this connection got a credentials_revoked error
	token        string   // the token this connection was opened with
}

// New returns a client for cfg that reports events to handle. It does not
// connect: Run does.
func New(cfg Config, handle func(Event)) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	urls, err := cfg.dialURLs()
	if err != nil {
		return nil, err
	}
	idle := make(chan struct{})
	close(idle)
	c := &Client{
		cfg:       cfg,
		urls:      urls,
		handle:    handle,
		keyPrefix: randomPrefix(),
		dialer: &websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: cfg.WriteTimeout,
			TLSClientConfig:  cfg.TLS,
		},
		pending: newPendingList(),
		idle:    idle,
		welcome: make(chan struct{}),
		settled: make(chan struct{}),
		seen:    newSeenSet(cfg.SeenIDs),
	}
	c.creds, err = newCredentials(cfg, func(text string) { c.notify(text, false) })
	if err != nil {
		return nil, err
	}
	return c, nil
}

// randomPrefix returns 12 random hex digits for idempotency keys.
func randomPrefix() string {
	var b [6]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Send sends a say, dm or who, or keeps it until there is a connection. A
// say or dm gets an idempotency key; all get a ref. Each is kept until the
// server answers it and sent again, unchanged, after every reconnect until
// then, so a network failure neither loses nor doubles it. Say and dm are
// written at the pace the server announced (pace.go).
//
// A CmdServer line is sent as it is, once: on the connection that is up,
// or on the next one. The server answers it without a ref, so nothing is
// kept for an answer, and a connection lost before it is written loses it.
func (c *Client) Send(cmd Command) (*Request, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil, ErrClosed
	}
	req, err := c.newRequest(cmd)
	if err != nil {
		return nil, err
	}
	if req.Ref == "" && c.conn != nil {
		c.conn.enqueue(req.out())
		return req, nil
	}
	c.pending.push(req)
	if c.pending.len() == 1 {
		c.idle = make(chan struct{})
	}
	if c.conn != nil {
		c.conn.enqueue(req.out())
	}
	return req, nil
}

// settleIdle closes idle if no request waits any more and it is still
// open. Called with mu held.
func (c *Client) settleIdle() {
	if c.pending.len() > 0 {
		return
	}
	select {
	case <-c.idle:
	default:
		close(c.idle)
	}
}

// newRequest builds the request and frame for cmd. Called with mu held.
func (c *Client) newRequest(cmd Command) (*Request, error) {
	c.nextRef++
	n := strconv.FormatUint(c.nextRef, 10)
	req := &Request{Ref: "r" + n, Command: cmd, seq: c.nextRef}
	f := wire.ClientFrame{Ref: &req.Ref}
	switch cmd.Kind {
	case CmdSay:
		f.Type, f.Text = "say", cmd.Text
	case CmdDM:
		f.Type, f.To, f.Text = "dm", cmd.To, cmd.Text
	case CmdWho:
		f.Type, f.After = "who", cmd.After
	case CmdServer:
		req.Ref, req.frame = "", []byte(cmd.Text)
	default:
		return nil, fmt.Errorf("nothing to send for this command")
	}
	if cmd.Kind == CmdSay || cmd.Kind == CmdDM {
		req.Key = c.keyPrefix + "-" + n
		f.Key = req.Key
	}
	if req.frame == nil {
		req.frame = f.Encode()
	}
	if len(req.frame) > c.cfg.MaxFrame {
		return nil, fmt.Errorf("message too long: %d bytes encoded, the limit is %d", len(req.frame), c.cfg.MaxFrame)
	}
	return req, nil
}

// complete removes and returns the request ref answers, nil if none waits.
func (c *Client) complete(ref string) *Request {
	if ref == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	req := c.pending.take(ref)
	if req != nil {
		c.settleIdle()
	}
	return req
}

// Idle returns a channel that is closed once no request waits for an
// answer; if none waits now, it is closed already.
func (c *Client) Idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idle
}

// Pending reports how many requests wait for an answer.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending.len()
}

// Welcomed returns a channel that is closed once the server has welcomed
// the client for the first time.
func (c *Client) Welcomed() <-chan struct{} {
	return c.welcome
}

// Settled returns a channel that is closed once the first sign-in has an
// outcome: the server has welcomed the client, or a dial failed for a
// reason other than credentials (the client retries, and what is sent
// meanwhile waits for the connection), or Run has returned. Until then
// the client may still have to ask for a password, so a terminal that
// took typed lines as chat before it could send the password a person
// typed ahead as a public message.
func (c *Client) Settled() <-chan struct{} {
	return c.settled
}

// settle closes settled, once.
func (c *Client) settle() {
	c.settleOnce.Do(func() { close(c.settled) })
}

// wasWelcomed reports whether the server has ever welcomed the client.
func (c *Client) wasWelcomed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.everConn
}

// Connected reports whether a connection is up, so that requests sent now
// go out at once rather than after a reconnect.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// Close ends the client: a connection that is up is closed with code 1000
// after everything already queued on it is written, and Run returns nil.
// The closing handshake is bounded by Config.CloseTimeout. Close does not
// wait; Run's return is the end.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing = true
	if c.conn != nil {
		c.conn.requestClose(c.cfg.CloseTimeout)
		return
	}
	if c.cancel != nil {
		c.cancel()
	}
}

// Run connects and keeps connecting until Close (then it returns nil), ctx
// ends (ctx.Err()), the session is taken over (ErrSessionReplaced), the
// server refuses the name (*RefusedError), the credentials are refused and
// cannot be renewed (*SignInError) or revoked (ErrRevoked). Between
// attempts it waits with exponential backoff and jitter, and says so in a
// notice; after a 401 that a new sign-in cures it dials again at once.
func (c *Client) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := c.start(cancel); err != nil {
		return err
	}
	defer c.settle()
	bo := backoff{min: c.cfg.BackoffMin, max: c.cfg.BackoffMax}
	for {
		wait, done, err := c.attempt(ctx, &bo)
		if done {
			return err
		}
		if !sleepCtx(ctx, wait) {
			return c.stopErr(ctx)
		}
	}
}

// start marks the client running, or reports why it cannot run.
func (c *Client) start(cancel context.CancelFunc) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running || c.closing {
		return ErrClosed
	}
	c.running, c.cancel = true, cancel
	return nil
}

// attempt makes one connection and serves it until it ends. It returns how
// long to wait before the next attempt, or done with Run's result in err.
func (c *Client) attempt(ctx context.Context, bo *backoff) (wait time.Duration, done bool, err error) {
	ws, err := c.dial(ctx)
	if err != nil {
		return c.dialFailed(ctx, err, bo)
	}
	welcomed, err := c.serve(ctx, ws)
	c.rotate() // the server may be gone: the next attempt tries the next one
	if c.replaced || isClose(err, wire.CloseReplaced) {
		c.notify("this session was taken over by a newer connection as "+c.cfg.User+"; exiting", true)
		return 0, true, ErrSessionReplaced
	}
	if c.isClosing() || ctx.Err() != nil {
		return 0, true, c.stopErr(ctx)
	}
	if c.revoked || isClose(err, closeRevoked) {
		if c.isLoggedOut() {
			return 0, true, nil
		}
		c.creds.revoked(c.token)
		c.notify(ErrRevoked.Error(), true)
		return 0, true, ErrRevoked
	}
	if welcomed {
		bo.reset()
		c.dialFailures = 0
	}
	wait = bo.next()
	c.notify(fmt.Sprintf("connection lost (%s); reconnecting in %s...", describe(err), roundWait(wait)), true)
	return wait, false, nil
}

// dialFailed decides what follows a failed dial: a refusal ends Run, a 401
// asks the credentials for a new token and dials again at once, anything
// else waits for the backoff.
func (c *Client) dialFailed(ctx context.Context, err error, bo *backoff) (wait time.Duration, done bool, _ error) {
	var refused *RefusedError
	var signIn *SignInError
	var unauthorized *unauthorizedError
	switch {
	case ctx.Err() != nil, errors.As(err, &refused), errors.As(err, &signIn):
		return 0, true, c.finalErr(ctx, err)
	case errors.As(err, &unauthorized):
		if err := c.creds.rejected(ctx, unauthorized.token); err != nil {
			return 0, true, c.finalErr(ctx, err)
		}
		return 0, false, nil
	}
	c.settle()
	wait = bo.next()
	c.notify(c.dialFailure(err, wait), true)
	c.rotate()
	return wait, false, nil
}

// rotate moves on to the next address, if there are several.
func (c *Client) rotate() { c.at = (c.at + 1) % len(c.urls) }

// server is the address dialed next, for notices.
func (c *Client) server() string {
	if u, err := url.Parse(c.urls[c.at]); err == nil {
		u.RawQuery = ""
		return u.String()
	}
	return c.cfg.Server
}

// dialFailure words the notice for a failed dial: in full the first time,
// shorter while the failures go on.
func (c *Client) dialFailure(err error, wait time.Duration) string {
	c.dialFailures++
	if c.dialFailures == 1 {
		return fmt.Sprintf("cannot connect to %s: %s; retrying in %s...", c.server(), shortDialError(err), roundWait(wait))
	}
	return fmt.Sprintf("still cannot connect (%s); retrying in %s...", shortDialError(err), roundWait(wait))
}

// finalErr is Run's result for a dial that ends the run.
func (c *Client) finalErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return c.stopErr(ctx)
	}
	return err
}

// stopErr is Run's result when it stops on request: nil after Close,
// otherwise the context's error.
func (c *Client) stopErr(ctx context.Context) error {
	if c.isClosing() {
		return nil
	}
	return ctx.Err()
}

// Logout signs out: it revokes the client's token on the server and
// forgets it here and in the cache, then closes the client like Close.
// The connections the server then closes with 4003 end Run with nil. On
// an error nothing changes and the client goes on.
func (c *Client) Logout(ctx context.Context) error {
	c.setLoggedOut(true)
	if err := c.creds.logout(ctx); err != nil {
		c.setLoggedOut(false)
		return err
	}
	c.Close()
	return nil
}

// ChangePassword changes the account's password from old to next. The
// server revokes the user's other tokens and keeps this one, so the client
// goes on and the cache stays as it is.
func (c *Client) ChangePassword(ctx context.Context, old, next string) error {
	return c.creds.changePassword(ctx, old, next)
}

// setLoggedOut records whether a logout is under way or done.
func (c *Client) setLoggedOut(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loggedOut = v
}

// isLoggedOut reports whether Logout has revoked the token, or is about to.
func (c *Client) isLoggedOut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loggedOut
}

// isClosing reports whether Close has been called.
func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// notify reports a local notice.
func (c *Client) notify(text string, down bool) {
	c.emit(Event{Notice: text, Down: down})
}

// backoff computes reconnect delays: doubling from min to max, with jitter
// so that many clients cut off at once do not come back in lockstep.
// Owned by the Run goroutine.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // the last delay before jitter; zero after reset
}

// next returns the delay before the next attempt: between half and all of
// the current step.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

// reset starts the doubling over, after a connection that worked.
func (b *backoff) reset() { b.cur = 0 }

// roundWait renders a delay for a notice: "250ms", "2s", "1.5s".
func roundWait(d time.Duration) string {
	if d < time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// sleepCtx waits for d or until ctx ends, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
