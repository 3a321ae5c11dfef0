package server

import (
	"sync"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/chatpb"
)

// frame is one thing the write loop writes: a text frame, or a control
// frame queued so that the write loop stays the only writer.
type frame struct {
	op   int         // websocket.TextMessage, PingMessage, PongMessage or CloseMessage
	data []byte      // payload (a close frame's payload is already formatted)
	seq  uint64      // text: the private-message delivery seq (0: none); ping: the seq it confirms
	kind chatpb.Kind // of the delivered message, for metrics; unspecified for other frames
	lazy bool        // may wait up to lingerDelay for company (presence notices)

	pooled *[]byte // data's buffer, from Server.welcomes, returned once written
}

// outbox is a connection's bounded queue of frames waiting to be written.
// Actors push to it and never wait: past the byte limit the connection is
// marked for closing instead (a slow consumer), and nothing more is taken.
// The write loop takes everything queued in one swap.
type outbox struct {
	// set at construction
	max int // bytes of text frames that may wait

	mu      sync.Mutex // guards the fields below
	frames  []frame
	spare   []frame // the previous batch's slice, reused to avoid garbage
	bytes   int
	closing bool // a close frame is queued: take no more
	writing bool // a write loop is running (or about to)
}

// pushResult tells the caller what a push did.
type pushResult int

const (
	pushed     pushResult = iota // queued; a write loop is running
	pushedIdle                   // queued; the caller must start a write loop
	pushedLazy                   // queued, no write loop runs; the caller may wait lingerDelay
	dropped                      // the connection is closing: ignored
	overflow                     // over the limit: the caller must close (4001)
)

// push queues a frame. Control frames do not count towards the limit.
func (o *outbox) push(f frame) pushResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing {
		return dropped
	}
	if f.op == websocket.TextMessage {
		if o.bytes+len(f.data) > o.max {
			return overflow
		}
		o.bytes += len(f.data)
	}
	o.frames = append(o.frames, f)
	if f.op == websocket.CloseMessage {
		o.closing = true
	}
	if f.lazy && !o.writing {
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

// close queues a close frame ahead of nothing else: frames already queued
// are written first, except after an overflow, when they are dropped (the
// peer is not reading them anyway). It returns whether the caller must
// start a write loop; false also when the outbox was already closing.
func (o *outbox) close(payload []byte, discard bool) (start, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing {
		return false, false
	}
	if discard {
		o.frames, o.bytes = o.frames[:0], 0
	}
	o.frames = append(o.frames, frame{op: websocket.CloseMessage, data: payload})
	o.closing = true
	return o.wake() == pushedIdle, true
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
	o.bytes = 0
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

// isClosing reports whether a close frame is queued or was given up on.
func (o *outbox) isClosing() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closing
}

// abandon drops everything queued and takes nothing more, without a close
// frame: for a connection whose close frame was already sent by other means.
func (o *outbox) abandon() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.frames, o.bytes, o.closing = o.frames[:0], 0, true
}
