package transport

import (
	"sync"

	"github.com/gorilla/websocket"
)

// frame is one thing the write loop writes: a caller's text frame, or a
// control frame queued so that the write loop stays the only writer.
type frame struct {
	Frame     // a ping's Seq is the highest it confirms
	op    int // websocket.TextMessage, PingMessage, PongMessage or CloseMessage
}

// outbox is a connection's bounded queue of frames waiting to be written.
// Senders push to it and never wait: past the byte limit the push fails
// (a slow consumer), and once a close frame is queued nothing more is
// taken. The write loop takes everything queued in one swap.
//
// Control frames are not counted against the limit, and need not be: our
// own pings come from timers (at most one keep-alive and one confirmation
// ping waiting), the close frame is one, and pongs, which the peer's pings
// cause, are coalesced: a pong queued while another still waits replaces
// its payload (RFC 6455, 5.5.3, allows answering only the latest ping).
// So a peer that pings and never reads holds at most two pongs here, the
// one waiting and the one in the write loop's batch, however fast it pings.
type outbox struct {
	// set at construction
	max int // bytes of text frames that may wait

	mu      sync.Mutex // guards the fields below
	frames  []frame
	spare   []frame // the previous batch's slice, reused to avoid garbage
	bytes   int
	pongAt  int  // 1 + the index in frames of the pong waiting there; 0: none
	closing bool // a close frame is queued: take no more
	writing bool // a write loop is running (or about to)
	code    int  // the close frame's code, once closing
	byPeer  bool // the close frame answers the peer's
}

// pushResult tells the caller what a push did.
type pushResult int

const (
	pushed     pushResult = iota // queued; a write loop is running
	pushedIdle                   // queued; the caller must start a write loop
	pushedLazy                   // queued, no write loop runs; the caller may wait lazyDelay
	dropped                      // the connection is closing: ignored
	overflow                     // over the limit: ignored, the caller must act
)

// push queues a frame. Control frames do not count towards the limit; a
// pong replaces one that still waits.
func (o *outbox) push(f frame) pushResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closing:
		return dropped
	case f.op == websocket.PongMessage && o.pongAt > 0:
		o.frames[o.pongAt-1].Data = f.Data // a pong is never lazy: a write loop runs
		return pushed
	case f.op == websocket.PongMessage:
		o.pongAt = len(o.frames) + 1
	case f.op == websocket.TextMessage:
		if o.bytes+len(f.Data) > o.max {
			return overflow
		}
		o.bytes += len(f.Data)
	}
	o.frames = append(o.frames, f)
	if f.Lazy && !o.writing {
		return pushedLazy
	}
	return o.wake()
}

// wakeLazy starts writing what lazy pushes left waiting, unless a write
// loop runs already (it takes them) or nothing waits. It returns whether
// the caller must start a write loop.
func (o *outbox) wakeLazy() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.frames) > 0 && o.wake() == pushedIdle
}

// close queues a close frame behind what is queued, or instead of it when
// discard is set (the peer is not reading it anyway); the discarded
// frames are returned for release. start tells whether the caller must
// start a write loop; ok is false when a close frame was queued already,
// which stays the one that counts.
func (o *outbox) close(code int, payload []byte, byPeer, discard bool) (start, ok bool, gone []frame) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing {
		return false, false, nil
	}
	if discard {
		gone = o.frames
		o.frames, o.bytes, o.pongAt = nil, 0, 0
	}
	o.frames = append(o.frames, frame{op: websocket.CloseMessage, Frame: Frame{Data: payload}})
	o.closing, o.code, o.byPeer = true, code, byPeer
	return o.wake() == pushedIdle, true, gone
}

func (o *outbox) wake() pushResult {
	if o.writing {
		return pushed
	}
	o.writing = true
	return pushedIdle
}

// take returns everything queued and empties the outbox. When nothing is
// queued it marks the write loop as gone and returns nil: the next push
// starts a new one.
func (o *outbox) take() []frame {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.frames) == 0 {
		// Going idle: keep small slices, so a message to an idle
		// connection costs no allocation, and drop large ones, so an idle
		// connection holds no queue memory after a burst (a wave of
		// presence notices can leave them large).
		o.writing = false
		o.frames, o.spare = keepSmall(o.frames), keepSmall(o.spare)
		return nil
	}
	batch := o.frames
	o.frames, o.spare = o.spare[:0], nil
	o.bytes, o.pongAt = 0, 0
	return batch
}

// idleKeep is the most frames whose slice an idle outbox keeps.
const idleKeep = 4

func keepSmall(fs []frame) []frame {
	if cap(fs) > idleKeep {
		return nil
	}
	return fs
}

// recycle hands a written batch back for reuse.
func (o *outbox) recycle(batch []frame) {
	clear(batch)
	o.mu.Lock()
	o.spare = batch[:0]
	o.mu.Unlock()
}

// isClosing reports whether a close frame is queued (or was written).
func (o *outbox) isClosing() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closing
}

// ending returns the close frame's code and whether it answered the
// peer's; code is 0 while none is queued.
func (o *outbox) ending() (code int, byPeer bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.code, o.byPeer
}

// release hands back the pooled buffers of frames done with.
func release(fs []frame) {
	for i := range fs {
		if fs[i].Release != nil {
			fs[i].Release()
		}
	}
}
