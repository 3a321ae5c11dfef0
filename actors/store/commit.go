package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt's group commit. The queue and the writer goroutine are queue.go's;
// this is how Bolt commits a batch: one bbolt transaction, one commit.

// op is one queued Bolt write: apply runs inside the group's transaction.
type op = queued[func(tx *bolt.Tx) error]

// commit applies batch in one transaction (one fsync), then calls every
// op's callback in batch order. An op whose apply fails is reported alone:
// the transaction is rolled back and retried without it.
func (s *Bolt) commit(batch []op) {
	errs := refusedAtSubmission(batch)
	err := retryWithout(errs, func() error {
		start := time.Now()
		err := s.db.Update(func(tx *bolt.Tx) error { return applyAll(tx, batch, errs) })
		if !errors.Is(err, errRetry) {
			s.commits.Add(1)
			s.logCommit(len(batch)-countErrs(errs), start, err)
		}
		return err
	})
	finish(batch, errs, s.wrapCommitErr(err))
}

// applyAll applies the ops of batch that have not failed. An op refused
// (refuse) fails alone and the others go on; on the first other failure
// it records the error in errs and returns errRetry, which rolls the
// transaction back.
func applyAll(tx *bolt.Tx, batch []op, errs []error) error {
	for i := range batch {
		if errs[i] != nil {
			continue
		}
		err := batch[i].apply(tx)
		var r refusal
		switch {
		case err == nil:
		case errors.As(err, &r):
			errs[i] = r.err
		default:
			errs[i] = err
			return errRetry
		}
	}
	return nil
}

// refusal is what an op's apply returns, through refuse, to fail without
// having changed anything: the transaction goes on with the rest of the
// batch. Any other error rolls it back and retries the batch without the
// op, which a flood of refused writes (a full store) must not cost: a
// retry per refusal would make a batch quadratic.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// refuse wraps err as a refusal; see refusal.
func refuse(err error) error { return refusal{err: err} }

// countErrs counts the writes that have failed already.
func countErrs(errs []error) int {
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
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
