package store

import (
	"errors"
	"sync"
)

// The submission side of group commit, shared by the stores that have one
// writer goroutine (Bolt, Postgres): writes are queued without waiting, the
// writer takes everything queued as one batch, commits it as the store
// knows how, and calls the batch's callbacks in submission order.

// queued is one queued write. A is the store's own description of the
// change: a function over a bbolt transaction for Bolt, statements for
// Postgres.
type queued[A any] struct {
	// apply makes the write inside the group's transaction. It may run more
	// than once (a failed group is retried without the failing write), so
	// it touches nothing but the transaction and variables read only after
	// done.
	apply A
	// err, when set, fails the write without applying it: a write refused
	// at submission keeps its place in the callback order.
	err error
	// done is the caller's callback; nil is allowed.
	done func(error)
}

// writeQueue holds the writes waiting for the writer goroutine.
type writeQueue[A any] struct {
	// set at construction
	maxBatch int

	// guarded by mu
	mu      sync.Mutex
	pending []queued[A] // in submission order
	closed  bool        // close has begun: new writes are refused
	stopped bool        // the writer has returned: nobody will run pending writes

	// wake tells the writer that pending may have grown; buffered (1) so
	// that a submitter never waits for the writer.
	wake chan struct{}
	// exited is closed when the writer goroutine returns.
	exited chan struct{}

	// owned by the writer goroutine
	spare []queued[A] // the previous batch's slice, reused for the next queue
}

// newWriteQueue returns an empty queue whose batches hold at most maxBatch
// writes.
func newWriteQueue[A any](maxBatch int) *writeQueue[A] {
	return &writeQueue[A]{
		maxBatch: maxBatch,
		wake:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
	}
}

// submit queues w and wakes the writer. It holds mu only to append, so a
// caller never waits for a commit. After close, w fails with ErrClosed:
// still through the queue while the writer drains it, so callbacks keep
// their order, and directly once the writer has returned.
func (q *writeQueue[A]) submit(w queued[A]) {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		call(w.done, ErrClosed)
		return
	}
	if q.closed {
		w.err = ErrClosed
	}
	q.pending = append(q.pending, w)
	q.mu.Unlock()
	q.signal()
}

// signal wakes the writer without waiting: if a wake-up is already pending,
// that one will do.
func (q *writeQueue[A]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// isClosed reports whether close has begun.
func (q *writeQueue[A]) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// close refuses new writes and blocks until the writer has committed
// everything queued before and returned.
func (q *writeQueue[A]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
	<-q.exited
}

// run is the writer goroutine: it hands batches to commit until close has
// been called and the queue is empty. commit must call every callback of
// its batch.
func (q *writeQueue[A]) run(commit func(batch []queued[A])) {
	defer close(q.exited)
	for {
		batch, stop := q.take()
		switch {
		case stop:
			return
		case len(batch) == 0:
			<-q.wake
		default:
			commit(batch)
			q.recycle(batch)
		}
	}
}

// recycle keeps batch's array for the next queue, unless a burst has grown
// it far past a batch: that memory is given back instead.
func (q *writeQueue[A]) recycle(batch []queued[A]) {
	clear(batch) // drop the callbacks' references
	q.spare = nil
	if cap(batch) <= 2*q.maxBatch {
		q.spare = batch[:0]
	}
}

// take removes up to maxBatch writes from the front of the queue. stop is
// true when the queue is closed and nothing is left; from then on submit
// fails writes itself.
func (q *writeQueue[A]) take() (batch []queued[A], stop bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.pending)
	switch {
	case n == 0 && q.closed:
		q.stopped = true
		return nil, true
	case n == 0:
		return nil, false
	case n <= q.maxBatch:
		batch, q.pending = q.pending, q.spare
		return batch, false
	}
	batch = append(q.spare, q.pending[:q.maxBatch]...)
	rest := copy(q.pending, q.pending[q.maxBatch:])
	clear(q.pending[rest:])
	q.pending = q.pending[:rest]
	q.signal() // the rest is for the next round
	return batch, false
}

// refusedAtSubmission returns the errors the writes of batch start with:
// those refused at submission have theirs, the others nil.
func refusedAtSubmission[A any](batch []queued[A]) []error {
	errs := make([]error, len(batch))
	for i := range batch {
		errs[i] = batch[i].err
	}
	return errs
}

// errRetry is what an attempt at a group commit returns after recording,
// in the batch's errors, the one write that failed: the transaction is
// rolled back and tried again without it (see retryWithout).
var errRetry = errors.New("store: retry without the failed write")

// retryWithout calls attempt until it returns something other than
// errRetry, and returns that. attempt applies, in one transaction, the
// writes whose entry in errs is nil; on errRetry it has set one more entry,
// so the loop ends at the latest when no write is left (then the result is
// nil: nothing was committed, and nothing needed to be).
func retryWithout(errs []error, attempt func() error) error {
	live := 0
	for _, err := range errs {
		if err == nil {
			live++
		}
	}
	for ; live > 0; live-- {
		if err := attempt(); !errors.Is(err, errRetry) {
			return err
		}
	}
	return nil
}

// finish calls every callback of batch in order: with its own error when
// it failed alone, else with the commit's result.
func finish[A any](batch []queued[A], errs []error, commitErr error) {
	for i := range batch {
		if errs[i] == nil {
			errs[i] = commitErr
		}
		call(batch[i].done, errs[i])
	}
}
