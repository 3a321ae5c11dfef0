package main

import (
	"context"
	"regexp"
	"testing"
	"time"
)

// chatd is one chatd run inside the test process, as main would run it.
type chatd struct {
	t      *testing.T
	addr   string      // the chat address, from its log
	logs   *syncBuffer // everything it logged
	cancel context.CancelFunc
	done   chan error
	ended  bool
}

// launch runs chatd with args and the environment vars until stop or the
// end of the test, when run must return nil within the shutdown grace, and
// returns once it listens.
func launch(t *testing.T, vars map[string]string, args ...string) *chatd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &chatd{t: t, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- run(ctx, args, env(vars), c.logs) }()
	t.Cleanup(c.stop)
	c.addr = c.await(listeningRE)
	return c
}

// await waits until chatd has logged a line re matches, and returns the
// first submatch.
func (c *chatd) await(re *regexp.Regexp) string {
	c.t.Helper()
	return waitFor(c.t, func() string { return submatch(re, c.logs.String()) })
}

// stop cancels the run, as SIGTERM does, and checks that it returns nil in
// time; after the first call it does nothing.
func (c *chatd) stop() {
	c.t.Helper()
	if c.ended {
		return
	}
	c.ended = true
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil {
			c.t.Errorf("run: %v", err)
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		c.t.Error("run did not return after cancel")
	}
}

// submatch is re's first submatch in s, or "".
func submatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
