package transport

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller tells which idle connections have something to read, so that an
// idle connection needs no goroutine blocked in Read (measured at 15,000
// idle connections: 4.1 KiB of stack each, a quarter of the server's memory
// per connection).
//
// It is an epoll instance of its own, with every connection registered
// edge-triggered: an event reports data that arrived, once, and needs no
// re-arming. Conn.readable keeps it to one reader per connection: an event
// during a turn makes that reader take another turn instead of starting a
// second. Edges are why the reader must not leave data behind unannounced
// (yieldReader.Read). One-shot registration would need an epoll_ctl to
// re-arm after every turn: 5-8% of the server's CPU in the private-message
// benchmark at 8,000-32,000 messages a second (docs/performance.md). The
// epoll descriptor is itself
// pollable, so the poller's single goroutine waits in the Go runtime's
// netpoller like any socket read, not in a blocked thread; closing it ends
// that goroutine.
type poller struct {
	// set at construction
	ep     *os.File // the epoll instance, non-blocking
	raw    syscall.RawConn
	ready  func(*Conn) // called on the poller's goroutine for each readable connection
	events []unix.EpollEvent

	mu    sync.Mutex // guards the fields below
	conns map[uint64]*Conn
}

// pollEvents are the events a connection is registered for. Errors and
// hang-ups are always reported; EPOLLRDHUP catches a peer's shutdown even
// when no byte follows it.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET

// newPoller starts a poller that calls ready for each connection it finds
// readable. It fails where epoll does, and the transport then gives each
// connection a reading goroutine instead.
func newPoller(ready func(*Conn)) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	ep := os.NewFile(uintptr(fd), "epoll")
	raw, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &poller{ep: ep, raw: raw, ready: ready, events: make([]unix.EpollEvent, 256), conns: make(map[uint64]*Conn)}
	go p.run()
	return p, nil
}

// run waits for the epoll instance to have events and hands them out, until
// the poller is closed.
func (p *poller) run() {
	_ = p.raw.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), p.events, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return true // closed underneath: Read ends
			}
			p.dispatch(p.events[:n])
			if n < len(p.events) {
				return false // drained: wait in the netpoller for more
			}
		}
	})
}

func (p *poller) dispatch(events []unix.EpollEvent) {
	for i := range events {
		id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
		p.mu.Lock()
		c := p.conns[id]
		p.mu.Unlock()
		if c != nil { // nil: removed after its event was queued
			p.ready(c)
		}
	}
}

// add registers c. An event follows at once if data is waiting.
func (p *poller) add(c *Conn) error {
	p.mu.Lock()
	p.conns[c.id] = c
	p.mu.Unlock()
	if err := p.ctl(c, unix.EPOLL_CTL_ADD); err != nil {
		p.forget(c)
		return err
	}
	return nil
}

// remove unregisters c; its descriptor must still be open.
func (p *poller) remove(c *Conn) {
	_ = p.ctl(c, unix.EPOLL_CTL_DEL)
	p.forget(c)
}

func (p *poller) forget(c *Conn) {
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
}

// ctl applies op to c's socket. Both descriptors are used only inside
// Control, where they cannot be closed and reused underneath (and os.File's
// Fd would make the epoll descriptor blocking).
func (p *poller) ctl(c *Conn, op int) error {
	if c.raw == nil {
		return errors.ErrUnsupported
	}
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.id)), Pad: int32(uint32(c.id >> 32))}
	var err error
	perr := p.raw.Control(func(epfd uintptr) {
		cerr := c.raw.Control(func(fd uintptr) {
			err = unix.EpollCtl(int(epfd), op, int(fd), &ev)
		})
		err = errors.Join(cerr, err)
	})
	return errors.Join(perr, err)
}

// close stops the poller's goroutine. Connections still registered get no
// more events; their owner closes them.
func (p *poller) close() error {
	return p.ep.Close()
}
