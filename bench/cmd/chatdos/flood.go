package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// pings floods o.conns connections with pings of 125 bytes, the largest
// control frame, in bursts of 1,000 for o.dur without reading a byte, so
// that any pong the server queues stays queued; then it reads for up to
// 5 s to see how each connection ended.
func pings(o options, out io.Writer) error {
	cs, refused := openUsers(o)
	defer closeAll(cs)
	if len(cs) < o.conns {
		return fmt.Errorf("upgrades refused: %s", refused)
	}
	ping := frame(opPing, bytes.Repeat([]byte("p"), 125))
	burst := bytes.Repeat(ping, 1000)
	start := time.Now()
	stop := start.Add(o.dur)
	var sent, failedAt atomic.Int64 // failedAt: the last failed write, in ns after start
	ends := &tally{}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				_ = c.SetWriteDeadline(stop)
				n, err := c.Write(burst)
				sent.Add(int64(n / len(ping)))
				if err != nil {
					if !isTimeout(err) {
						failedAt.Store(max(failedAt.Load(), int64(time.Since(start))))
					}
					break
				}
			}
			ends.add(c.ending(time.Now().Add(5 * time.Second)))
		}()
	}
	wg.Wait()
	failed := "writes never failed"
	if t := failedAt.Load(); t > 0 {
		failed = "the last write failed after " + seconds(time.Duration(t))
	}
	_, err := fmt.Fprintf(out, "pings: %s wrote %d pings of 125 bytes without reading, %s; then: %s\n",
		count(len(cs), "connection"), sent.Load(), failed, ends)
	return err
}

// headers opens o.conns connections one after another and on each starts
// an upgrade request whose last header line is o.size bytes long and never
// finished; it counts the answers (or how each connection ended) by o.dur.
func headers(o options, out io.Writer) error {
	head := fmt.Sprintf("GET /chat?user=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Pad: ", o.prefix, o.addr)
	req := append([]byte(head), bytes.Repeat([]byte("a"), o.size)...)
	answers := &tally{}
	start := time.Now()
	deadline := start.Add(o.dur)
	var wg sync.WaitGroup
	for range o.conns {
		if time.Now().After(deadline) {
			answers.add("not tried: -dur passed")
			continue
		}
		c, err := dial(o.addr)
		if err != nil {
			answers.add("dial: " + outcome(err))
			continue
		}
		_ = c.SetDeadline(deadline)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _ = c.Write(req) // ends early when the server answers and closes
		}()
		go func() {
			defer wg.Done()
			defer func() { _ = c.Close() }()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers.add(outcome(err))
				return
			}
			_ = resp.Body.Close()
			answers.add(fmt.Sprintf("HTTP %d", resp.StatusCode))
		}()
	}
	wg.Wait()
	_, err := fmt.Fprintf(out, "headers: %d upgrade requests with an unfinished %d-byte header line: %s, in %s\n",
		o.conns, o.size, answers, seconds(time.Since(start)))
	return err
}
