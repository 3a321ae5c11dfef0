package server

import (
	"sync"
	"time"
)

// keepAlive calls a function every interval until stopped. It is a runtime
// timer, not a goroutine, so an idle connection costs no stack for it.
type keepAlive struct {
	mu      sync.Mutex // guards the fields below
	timer   *time.Timer
	stopped bool
}

// start arms the timer; f runs on the timer's goroutine.
func (k *keepAlive) start(every time.Duration, f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.timer = time.AfterFunc(every, func() {
		f()
		k.rearm(every)
	})
}

func (k *keepAlive) rearm(every time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.timer.Reset(every)
	}
}

// stop ends the calls; one already running finishes, and none follows.
func (k *keepAlive) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.timer != nil {
		k.timer.Stop()
	}
}
