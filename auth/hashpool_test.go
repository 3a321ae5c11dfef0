package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockedRun starts p.run with a job that holds its slot until release is
// closed; the returned channel gets run's error.
func blockedRun(p *hashPool, ctx context.Context, trusted bool, release chan struct{}) chan error {
	res := make(chan error, 1)
	go func() { res <- p.run(ctx, trusted, func() { <-release }) }()
	return res
}

func TestHashPoolBoundsWork(t *testing.T) {
	t.Parallel()
	p := newHashPool(2, 1)
	release := make(chan struct{})
	ctx := context.Background()
	running := []chan error{blockedRun(p, ctx, false, release), blockedRun(p, ctx, false, release)}
	waitUntil(t, "two hashes in flight", func() bool { return p.stats().InFlight == 2 })
	queued := blockedRun(p, ctx, false, release)
	waitUntil(t, "one queued", func() bool { return p.stats().Queued == 1 })

	// The queue is full: the next is refused at once, without running.
	ran := false
	if err := p.run(ctx, false, func() { ran = true }); !errors.Is(err, ErrBusy) || ran {
		t.Fatalf("run past the queue: %v (ran: %v), want ErrBusy without running", err, ran)
	}
	// The operator waits whatever the queue.
	trusted := blockedRun(p, ctx, true, release)
	waitUntil(t, "the operator queued", func() bool { return p.stats().Queued == 2 })
	if st := p.stats(); st.InFlight != 2 || st.Refused != 1 || st.Done != 0 {
		t.Fatalf("stats while full: %+v", st)
	}

	close(release)
	for _, res := range append(running, queued, trusted) {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	if st := p.stats(); st != (HashStats{Done: 4, Refused: 1}) {
		t.Fatalf("stats at the end: %+v", st)
	}
}

func TestHashPoolWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	p := newHashPool(1, 1)
	release := make(chan struct{})
	defer close(release)
	blockedRun(p, context.Background(), false, release)
	waitUntil(t, "a hash in flight", func() bool { return p.stats().InFlight == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	res := blockedRun(p, ctx, false, release)
	waitUntil(t, "one queued", func() bool { return p.stats().Queued == 1 })
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued run after cancel: %v", err)
	}
	if q := p.stats().Queued; q != 0 {
		t.Fatalf("%d still queued after the caller left", q)
	}
}
