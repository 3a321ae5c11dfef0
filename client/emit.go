package client

import "time"

// historyWait bounds how long live events are held back after a connect,
// so that the history answer, which comes later than live traffic on some
// servers, is shown before them and the screen reads in time order.
const historyWait = time.Second

// emit hands ev to the handler, or holds it back while the history answer
// is awaited.
func (c *Client) emit(ev Event) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	if c.holding {
		c.held = append(c.held, ev)
		return
	}
	c.handle(ev)
}

// emitNow hands ev to the handler even while others are held back.
func (c *Client) emitNow(ev Event) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.handle(ev)
}

// hold starts holding events back, until release or historyWait.
func (c *Client) hold() *time.Timer {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.holding = true
	c.holdGen++
	gen := c.holdGen
	return time.AfterFunc(historyWait, func() { c.releaseGen(gen) })
}

// releaseGen releases the hold started as generation gen, if it is still
// the current one: a late timer of an earlier connection does nothing.
func (c *Client) releaseGen(gen uint64) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	if gen == c.holdGen {
		c.flushHeld(nil)
	}
}

// release hands first (when not nil) and then every held event to the
// handler, and stops holding.
func (c *Client) release(first *Event) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.flushHeld(first)
}

// flushHeld is release with emitMu held.
func (c *Client) flushHeld(first *Event) {
	if first != nil {
		c.handle(*first)
	}
	held := c.held
	c.held, c.holding = nil, false
	for _, ev := range held {
		c.handle(ev)
	}
}
