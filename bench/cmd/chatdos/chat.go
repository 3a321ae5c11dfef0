package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// names opens o.conns users (all from one address) and has each send a
// public message o.rate times a second for o.dur, reading everything the
// server sends; it counts the receipts and refusals.
func names(o options, out io.Writer) error {
	cs, refused := openUsers(o)
	defer closeAll(cs)
	if len(cs) == 0 {
		return fmt.Errorf("no upgrade succeeded: %s", refused)
	}
	var accepted, limited atomic.Int64
	errs, ends := &tally{}, &tally{}
	var readers, senders sync.WaitGroup
	time.Sleep(time.Second) // let the joins' presence notices settle
	start := time.Now()
	stop := start.Add(o.dur)
	every := time.Duration(float64(time.Second) / o.rate)
	for _, c := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				r, _, err := c.next(stop.Add(5 * time.Second))
				if err != nil {
					if !isTimeout(err) {
						ends.add(outcome(err))
					}
					return
				}
				switch {
				case r.Type == "sent":
					accepted.Add(1)
				case r.Type == "error" && r.Code == "rate_limited":
					limited.Add(1)
				case r.Type == "error":
					errs.add(r.Code)
				}
			}
		}()
		senders.Add(1)
		go func() {
			defer senders.Done()
			for k := 0; time.Now().Before(stop); k++ {
				msg := fmt.Sprintf(`{"type":"say","text":"x","ref":"%d"}`, k)
				if c.send(opText, []byte(msg), stop) != nil {
					return
				}
				time.Sleep(every)
			}
		}()
	}
	senders.Wait()
	time.Sleep(500 * time.Millisecond) // the last answers
	for _, c := range cs {
		_ = c.SetReadDeadline(time.Now()) // ends its reader
	}
	readers.Wait()
	s := o.dur.Seconds()
	_, err := fmt.Fprintf(out, "names: %d users from one address (upgrades refused: %s), %g msg/s each for %s: "+
		"%.0f accepted/s, %.0f rate_limited/s, other errors: %s; closed by the server: %s\n",
		len(cs), refused, o.rate, seconds(o.dur), float64(accepted.Load())/s, float64(limited.Load())/s, errs, ends)
	return err
}

// fill has o.conns users store o.n public messages of o.size bytes each,
// one at a time, sending a refused one again 200 ms later, so that the
// history holds full pages; it gives up at o.dur.
func fill(o options, out io.Writer) error {
	cs, refused := openUsers(o)
	defer closeAll(cs)
	if len(cs) == 0 {
		return fmt.Errorf("no upgrade succeeded: %s", refused)
	}
	text := strings.Repeat("h", o.size)
	var stored, retried atomic.Int64
	errs := &tally{}
	start := time.Now()
	deadline := start.Add(o.dur)
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < o.n; {
				ref := fmt.Sprint(k)
				msg := fmt.Sprintf(`{"type":"say","text":%q,"ref":%q}`, text, ref)
				if err := c.send(opText, []byte(msg), deadline); err != nil {
					errs.add(outcome(err))
					return
				}
				r, err := c.answer(ref, deadline)
				switch {
				case err != nil:
					errs.add(outcome(err))
					return
				case r.Type == "error" && r.Code == "rate_limited":
					retried.Add(1)
					time.Sleep(200 * time.Millisecond)
					continue
				case r.Type == "error":
					errs.add(r.Code)
				default:
					stored.Add(1)
				}
				k++
			}
		}()
	}
	wg.Wait()
	_, err := fmt.Fprintf(out, "fill: %d of %d messages of %d bytes stored by %d users in %s, %d rate_limited and sent again; errors: %s\n",
		stored.Load(), o.n*len(cs), o.size, len(cs), seconds(time.Since(start)), retried.Load(), errs)
	return err
}

// answer reads until the answer to the request ref (skipping everything
// else) by the deadline.
func (c *wsConn) answer(ref string, deadline time.Time) (reply, error) {
	r, _, err := c.answerSize(ref, deadline)
	return r, err
}

// answerSize is answer that also returns the answer's size in bytes.
func (c *wsConn) answerSize(ref string, deadline time.Time) (reply, int, error) {
	for {
		r, n, err := c.next(deadline)
		if err != nil || r.Ref == ref {
			return r, n, err
		}
	}
}

// history asks one connection for o.n messages of history again and again
// for o.dur, each request as soon as the last one is answered, and counts
// the pages, their bytes and the refusals, until the server closes the
// connection or o.dur passes.
func history(o options, out io.Writer) error {
	c, err := upgrade(o.addr, o.prefix+"reader")
	if err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	defer func() { _ = c.Close() }()
	req := fmt.Appendf(nil, `{"type":"history","limit":%d,"ref":"h"}`, o.n)
	var requests, pages, limited, bytes int
	errs := &tally{}
	end := "still open"
	start := time.Now()
	stop := start.Add(o.dur)
	for time.Now().Before(stop) {
		requests++
		if err = c.send(opText, req, stop); err == nil {
			var r reply
			var n int
			r, n, err = c.answerSize("h", time.Now().Add(ioTimeout))
			switch {
			case err != nil:
			case r.Type == "history":
				pages++
				bytes += n
			case r.Code == "rate_limited":
				limited++
			default:
				errs.add(r.Code)
			}
		}
		if err != nil && !isTimeout(err) {
			end = outcome(err)
			break
		}
	}
	el := time.Since(start)
	_, err = fmt.Fprintf(out, "history: %d requests of %d bytes for %d messages: %d pages (%.0f KB each, %.2f MB in all), "+
		"%d rate_limited, other errors: %s; %s after %s\n",
		requests, len(req), o.n, pages, float64(bytes)/float64(max(pages, 1))/1e3, float64(bytes)/1e6,
		limited, errs, end, seconds(el))
	return err
}
