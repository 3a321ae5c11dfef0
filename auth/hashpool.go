package auth

import (
	"context"
	"sync/atomic"
)

// hashPool bounds the password hashing that runs at once. Hashing is
// CPU-heavy and anyone can ask for it (a login), so a flood of logins must
// not become a pile of goroutines each holding 19 MiB: at most cap(slots)
// hashes run, at most queueMax callers wait for a slot, and the caller past
// that is refused at once with ErrBusy. It starts no goroutine: the
// caller's own goroutine (an HTTP handler's) runs the hash.
type hashPool struct {
	slots    chan struct{} // a token per running hash
	queueMax int64

	inFlight atomic.Int64
	queued   atomic.Int64
	done     atomic.Uint64
	refused  atomic.Uint64
}

// HashStats describes the password-hashing pool at one moment, for
// metrics and load tests.
type HashStats struct {
	// InFlight is the number of hashes running now (at most
	// Config.HashWorkers).
	InFlight int
	// Queued is the number of requests waiting for a slot (at most
	// Config.HashQueue, plus the operator's, which are never refused).
	Queued int
	// Done counts the hashes finished since the start.
	Done uint64
	// Refused counts the requests refused with ErrBusy since the start.
	Refused uint64
}

func newHashPool(workers, queue int) *hashPool {
	return &hashPool{slots: make(chan struct{}, workers), queueMax: int64(queue)}
}

// run runs f in a slot, waiting in the queue if every slot is taken. It
// returns ErrBusy at once when the queue is full too, unless trusted (the
// operator's commands wait whatever the load), and ctx's error when ctx
// ends while it waits.
func (p *hashPool) run(ctx context.Context, trusted bool, f func()) error {
	if err := p.acquire(ctx, trusted); err != nil {
		return err
	}
	p.inFlight.Add(1)
	defer func() {
		p.inFlight.Add(-1)
		p.done.Add(1)
		<-p.slots
	}()
	f()
	return nil
}

// acquire takes a slot, waiting in the queue when it may.
func (p *hashPool) acquire(ctx context.Context, trusted bool) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	if n := p.queued.Add(1); n > p.queueMax && !trusted {
		p.queued.Add(-1)
		p.refused.Add(1)
		return ErrBusy
	}
	defer p.queued.Add(-1)
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stats returns the pool's counts; each is read atomically, the set not.
func (p *hashPool) stats() HashStats {
	return HashStats{
		InFlight: int(p.inFlight.Load()), Queued: int(p.queued.Load()),
		Done: p.done.Load(), Refused: p.refused.Load(),
	}
}
