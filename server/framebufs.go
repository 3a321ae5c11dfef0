package server

import (
	"sync"

	"github.com/actorchat/chat/server/transport"
)

// frameBufs renders the frames that go to one connection each, private
// messages and receipts, into pooled buffers that the transport hands back
// once written (Frame.Release). Rendered into fresh slices they were 4 to
// 5 allocations a private message (a slice grown step by step, for the
// delivery and again for the receipt), a fifth of all the server's
// allocations at 32,000 private messages a second.
type frameBufs struct {
	pool sync.Pool // of *frameBuf
}

// frameBuf is a pooled buffer with its release function, made once with
// the buffer so that releasing allocates nothing.
type frameBuf struct {
	data    []byte
	release func()
}

// maxPooledFrame is the largest buffer that goes back to the pool: a rare
// long message's is left to the garbage collector.
const maxPooledFrame = 16 << 10

// frame renders m into a pooled buffer.
func (p *frameBufs) frame(m any) (transport.Frame, bool) {
	b, _ := p.pool.Get().(*frameBuf)
	if b == nil {
		b = &frameBuf{data: make([]byte, 0, 512)}
		b.release = func() {
			if cap(b.data) <= maxPooledFrame {
				p.pool.Put(b)
			}
		}
	}
	data, ok := appendEvent(b.data[:0], m)
	b.data = data
	if !ok {
		b.release()
		return transport.Frame{}, false
	}
	return transport.Frame{Data: data, Release: b.release}, true
}
