package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// keptConn is a connection left open after one answered health check.
type keptConn struct {
	net.Conn
	br       *bufio.Reader
	answered time.Time
}

// healthz opens a connection, asks GET /healthz on it and reads the answer
// within ioTimeout. A 2xx-4xx answer other than 429 leaves the connection
// open, as keep-alive allows; otherwise c is nil.
func healthz(addr string) (c *keptConn, answer string) {
	nc, err := dial(addr)
	if err != nil {
		return nil, "dial: " + outcome(err)
	}
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReader(nc)
	_, err = fmt.Fprintf(nc, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		_ = nc.Close()
		return nil, outcome(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	answer = fmt.Sprintf("HTTP %d", resp.StatusCode)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.Close {
		_ = nc.Close()
		return nil, answer
	}
	_ = nc.SetDeadline(time.Time{})
	return &keptConn{Conn: nc, br: br, answered: time.Now()}, answer
}

// keepalive opens o.conns connections one after another, asks one health
// check on each and then leaves it idle; it waits until o.dur after it
// began for the server to close them, and reports when it did.
func keepalive(o options, out io.Writer) error {
	answers := &tally{}
	var kept []*keptConn
	start := time.Now()
	for range o.conns {
		if time.Now().After(start.Add(o.dur)) {
			answers.add("not tried: -dur passed")
			continue
		}
		c, answer := healthz(o.addr)
		answers.add(answer)
		if c != nil {
			kept = append(kept, c)
		}
	}
	var mu sync.Mutex
	var closed int
	var first, last time.Duration
	var wg sync.WaitGroup
	for _, c := range kept {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = c.Close() }()
			_ = c.SetReadDeadline(start.Add(o.dur))
			if _, err := c.br.ReadByte(); isTimeout(err) {
				return
			}
			idle := time.Since(c.answered)
			mu.Lock()
			defer mu.Unlock()
			if closed == 0 || idle < first {
				first = idle
			}
			last = max(last, idle)
			closed++
		}()
	}
	wg.Wait()
	_, err := fmt.Fprintf(out, "keepalive: %d connections, /healthz answered %s; of the %d left open, %d closed by the server "+
		"(idle %s to %s), %d still open after %s\n",
		o.conns, answers, len(kept), closed, seconds(first), seconds(last), len(kept)-closed, seconds(o.dur))
	return err
}

// fds opens up to o.conns connections one after another, each with one
// health check, keeps those the server does not refuse, prints its report
// and holds them for o.dur. It stops opening after 20 tries in a row are
// refused or fail.
func fds(o options, out io.Writer) error {
	if err := raiseFileLimit(); err != nil {
		return fmt.Errorf("raising the tool's open-file limit: %w", err)
	}
	answers := &tally{}
	var kept []*keptConn
	defer func() {
		for _, c := range kept {
			_ = c.Close()
		}
	}()
	start := time.Now()
	failed := 0
	for tries := 0; tries < o.conns && failed < 20; tries++ {
		c, answer := healthz(o.addr)
		answers.add(answer)
		if c == nil {
			failed++
			continue
		}
		failed = 0
		kept = append(kept, c)
	}
	if _, err := fmt.Fprintf(out, "fds %s: %d connections held, opened in %s; answers: %s; holding them %s\n",
		o.prefix, len(kept), seconds(time.Since(start)), answers, seconds(o.dur)); err != nil {
		return err
	}
	time.Sleep(o.dur)
	return nil
}

// raiseFileLimit raises this process's soft open-file limit to its hard
// limit, so that the tool can hold as many connections as it may.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}
