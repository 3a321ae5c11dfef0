package web_test

// gate is a TCP proxy between the browser and the server that a test can
// close in the middle of an exchange: hold lets what the browser sends reach
// the server but drops what the server sends back on the connections open
// now, and refuses new connections; release lets new connections through
// again. That is a network failure at the worst moment, made on purpose: a
// message the server accepted whose receipt never arrives.

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type gate struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	held  bool
	pipes map[*pipe]struct{}
}

// pipe is one proxied connection.
type pipe struct {
	client, server net.Conn
	muted          atomic.Bool // drop what the server sends
	once           sync.Once
}

// startGate listens on an ephemeral port of 127.0.0.1 and proxies to
// backend until the test ends.
func startGate(t *testing.T, backend string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, backend: backend, pipes: make(map[*pipe]struct{})}
	go g.accept()
	t.Cleanup(g.close)
	return g
}

func (g *gate) url() string { return "http://" + g.ln.Addr().String() + "/" }

func (g *gate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		go g.serve(c)
	}
}

func (g *gate) serve(c net.Conn) {
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held {
		_ = c.Close()
		return
	}
	s, err := net.DialTimeout("tcp", g.backend, 5*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p := &pipe{client: c, server: s}
	g.mu.Lock()
	g.pipes[p] = struct{}{}
	g.mu.Unlock()
	go p.up()
	p.down()
	g.mu.Lock()
	delete(g.pipes, p)
	g.mu.Unlock()
}

// up copies the browser's bytes to the server.
func (p *pipe) up() {
	buf := make([]byte, 32<<10)
	for {
		n, err := p.client.Read(buf)
		if n > 0 {
			if _, werr := p.server.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.close()
}

// down copies the server's bytes to the browser, unless muted.
func (p *pipe) down() {
	buf := make([]byte, 32<<10)
	for {
		n, err := p.server.Read(buf)
		if n > 0 && !p.muted.Load() {
			if _, werr := p.client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.close()
}

func (p *pipe) close() {
	p.once.Do(func() {
		_ = p.client.Close()
		_ = p.server.Close()
	})
}

// hold mutes the open connections' way back and refuses new ones.
func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = true
	for p := range g.pipes {
		p.muted.Store(true)
	}
}

// release lets new connections through.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
}

func (g *gate) close() {
	_ = g.ln.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	for p := range g.pipes {
		p.close()
	}
}
