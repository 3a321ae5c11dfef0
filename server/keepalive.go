package server

import (
	"sync"
	"time"
)

// keepAlive pings the peer every PingInterval and reports it dead once it
// has answered no ping for PongWait. It is a runtime timer, not a
// goroutine, and it replaces a read deadline, which only works while a
// goroutine waits in Read: under the poller, an idle connection has none.
type keepAlive struct {
	mu      sync.Mutex // guards the fields below
	timer   *time.Timer
	last    time.Time // when the peer last answered a ping (or connected)
	stopped bool
}

// start arms the timer. ping and expired run on the timer's goroutine;
// after expired, nothing more runs.
func (k *keepAlive) start(cfg Config, ping, expired func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.last = cfg.Clock()
	k.timer = time.AfterFunc(cfg.PingInterval, func() { k.tick(cfg, ping, expired) })
}

// tick pings, or gives up on a peer silent for PongWait. The next tick
// comes after PingInterval, or sooner if PongWait runs out first, so a
// dead peer is noticed when PongWait is up, not at the next ping.
func (k *keepAlive) tick(cfg Config, ping, expired func()) {
	k.mu.Lock()
	now, last, stopped := cfg.Clock(), k.last, k.stopped
	k.mu.Unlock()
	if stopped {
		return
	}
	left := last.Add(cfg.PongWait).Sub(now)
	if left <= 0 {
		expired()
		return
	}
	ping()
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.timer.Reset(min(cfg.PingInterval, left))
	}
}

// heard records an answer to a ping.
func (k *keepAlive) heard(t time.Time) {
	k.mu.Lock()
	k.last = t
	k.mu.Unlock()
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
