package server

import (
	"sync"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// welcomes renders welcome frames. A welcome lists up to 1,000 names, about
// 12 KB, and every welcome shares the room's list until a name on it
// changes (actors/roster.go), so the list is rendered once per change
// instead of once per connection: rendering it was 11% of the server's CPU
// while 15,000 connections were opened.
type welcomes struct {
	mu    sync.Mutex // guards the fields below
	users []string   // the list last rendered: the room's shared, unchanging slice
	json  []byte     // its rendering
}

// render returns w's frame.
func (c *welcomes) render(w *chatpb.Welcome) []byte {
	users := c.list(w.Users)
	return wire.AppendWelcome(make([]byte, 0, len(users)+len(w.User)+96), w, users)
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
