package server

import (
	"sync"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
	"github.com/actorchat/chat/server/transport"
)

// welcomes renders welcome frames. A welcome lists up to 1,000 names, about
// 12 KB, and every welcome shares the room's list until a name on it
// changes (actors/room_roster.go), so the list is rendered once per change
// instead of once per connection: rendering it was 11% of the server's CPU
// while 15,000 connections were opened. The frames themselves are rendered
// into pooled buffers that the transport hands back once written
// (Frame.Release): they were 30% of the bytes allocated per connection.
type welcomes struct {
	pool sync.Pool // of *welcomeBuf

	mu    sync.Mutex // guards the fields below
	users []string   // the list last rendered: the room's shared, unchanging slice
	json  []byte     // its rendering
}

// welcomeBuf is a pooled welcome buffer with its release function, made
// once with the buffer so that releasing allocates nothing.
type welcomeBuf struct {
	data    []byte
	release func()
}

// frame returns w's frame, in a pooled buffer.
func (c *welcomes) frame(w *chatpb.Welcome) transport.Frame {
	users := c.list(w.Users)
	b, _ := c.pool.Get().(*welcomeBuf)
	if b == nil {
		b = &welcomeBuf{}
		b.release = func() { c.pool.Put(b) }
	}
	ww := wireWelcome(w)
	b.data = ww.AppendWithNames(b.data[:0], users)
	return transport.Frame{Data: b.data, Release: b.release}
}

// list returns the rendering of users, from the cache when users is the
// very slice last rendered. The cache holds that slice, so its array
// cannot be freed and reused for another list while it is the key.
func (c *welcomes) list(users []string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !sameSlice(users, c.users) {
		c.users, c.json = users, wire.AppendNames(nil, users)
	}
	return c.json
}

func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
