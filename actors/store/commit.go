package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// op is one queued write.
type op struct {
	// apply makes the write inside the group's transaction. It may run more
	// than once (a failed group is retried without the failing op), so it
	// touches nothing but tx and variables read only after done.
	apply func(tx *bolt.Tx) error
	// err, when set, fails the op without running apply: a write refused
	// at submission keeps its place in the callback order.
	err error
	// done is the caller's callback; nil is allowed.
	done func(error)
}

// submit queues o and wakes the writer. It holds mu only to append, so a
// caller never waits for a commit. After Close, o fails with ErrClosed: still
// through the queue while the writer drains it, so callbacks keep their
// order, and directly once the writer has returned.
func (s *Bolt) submit(o op) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		call(o.done, ErrClosed)
		return
	}
	if s.closed {
		o.err = ErrClosed
	}
	s.pending = append(s.pending, o)
	s.mu.Unlock()
	s.signal()
}

// signal wakes the writer without waiting: if a wake-up is already pending,
// that one will do.
func (s *Bolt) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the writer goroutine: it commits batches until Close has been
// called and the queue is empty.
func (s *Bolt) run() {
	defer close(s.exited)
	for {
		batch, stop := s.take()
		switch {
		case stop:
			return
		case len(batch) == 0:
			<-s.wake
		default:
			s.commit(batch)
			s.recycle(batch)
		}
	}
}

// recycle keeps batch's array for the next queue, unless a burst has grown
// it far past a batch: that memory is given back instead.
func (s *Bolt) recycle(batch []op) {
	clear(batch) // drop the callbacks' references
	s.spare = nil
	if cap(batch) <= 2*s.cfg.MaxBatch {
		s.spare = batch[:0]
	}
}

// take removes up to cfg.MaxBatch ops from the front of the queue. stop is
// true when the store is closed and nothing is left; from then on submit
// fails writes itself.
func (s *Bolt) take() (batch []op, stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.pending)
	switch {
	case n == 0 && s.closed:
		s.stopped = true
		return nil, true
	case n == 0:
		return nil, false
	case n <= s.cfg.MaxBatch:
		batch, s.pending = s.pending, s.spare
		return batch, false
	}
	batch = append(s.spare, s.pending[:s.cfg.MaxBatch]...)
	rest := copy(s.pending, s.pending[s.cfg.MaxBatch:])
	clear(s.pending[rest:])
	s.pending = s.pending[:rest]
	s.signal() // the rest is for the next round
	return batch, false
}

// commit applies batch in one transaction (one fsync), then calls every
// op's callback in batch order. An op whose apply fails is reported alone:
// the transaction is rolled back and retried without it.
func (s *Bolt) commit(batch []op) {
	errs := make([]error, len(batch))
	live := 0
	for i := range batch {
		errs[i] = batch[i].err
		if errs[i] == nil {
			live++
		}
	}
	var err error
	for live > 0 {
		start := time.Now()
		err = s.db.Update(func(tx *bolt.Tx) error { return applyAll(tx, batch, errs) })
		if errors.Is(err, errRetry) {
			live--
			continue
		}
		s.commits.Add(1)
		s.logCommit(live, start, err)
		err = s.wrapCommitErr(err)
		break
	}
	for i := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		call(batch[i].done, errs[i])
	}
}

// applyAll applies the ops of batch that have not failed. On the first
// failure it records the error in errs and returns errRetry, which rolls
// the transaction back.
func applyAll(tx *bolt.Tx, batch []op, errs []error) error {
	for i := range batch {
		if errs[i] != nil {
			continue
		}
		if err := batch[i].apply(tx); err != nil {
			errs[i] = err
			return errRetry
		}
	}
	return nil
}

// logCommit reports a commit of n writes; a failed one at error level, since
// every caller of the batch is being told that its write was lost.
func (s *Bolt) logCommit(n int, start time.Time, err error) {
	if err != nil {
		s.log.Error("store: commit failed", "path", s.path, "writes", n, "err", err)
		return
	}
	took := time.Since(start)
	if s.cfg.ObserveCommit != nil {
		s.cfg.ObserveCommit(took, n)
	}
	s.log.Debug("store: commit", "writes", n, "took", took)
}

// wrapCommitErr names the file in a commit error handed to callbacks.
func (s *Bolt) wrapCommitErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: writing %s: %w", s.path, err)
}
