package server

import (
	"sync"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// welcomes renders welcome frames. A welcome lists up to 1,000 names, about
// 12 KB, and every welcome shares the room's list until a name on it
// changes (actors/room_roster.go), so the list is rendered once per change
// instead of once per connection: rendering it was 11% of the server's CPU
// while 15,000 connections were opened. The frames themselves are rendered
// into pooled buffers that the write loop hands back (frame.pooled): they
// were 30% of the bytes allocated per connection.
type welcomes struct {
	pool sync.Pool // of *[]byte

	mu    sync.Mutex // guards the fields below
	users []string   // the list last rendered: the room's shared, unchanging slice
	json  []byte     // its rendering
}

// frame returns w's frame, in a pooled buffer.
func (c *welcomes) frame(w *chatpb.Welcome) frame {
	users := c.list(w.Users)
	buf, _ := c.pool.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	ww := wireWelcome(w)
	*buf = ww.AppendWithNames((*buf)[:0], users)
	return frame{op: websocket.TextMessage, data: *buf, pooled: buf}
}

// release takes back the buffer of a welcome frame once it is written.
func (c *welcomes) release(buf *[]byte) {
	c.pool.Put(buf)
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
