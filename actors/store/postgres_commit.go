package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres's group commit. The queue and the writer goroutine are
// queue.go's; this is how Postgres commits a batch: every statement of
// every write goes into one pgx.Batch, sent as one pipeline that ends in a
// single Sync, which PostgreSQL runs as one implicit transaction and
// commits once (one WAL flush) before answering: one round trip, however
// many writes.
//
// A write that fails alone fails without the others. Writes are checked
// before they are queued, as Bolt's are, and the refusals a write can meet
// in the database (a name taken, a password changed meanwhile) are rows
// its statement returns, not errors, so they do not abort the
// transaction. What is left is the server refusing one statement (bad
// data, a constraint, a size limit): that aborts the pipeline, so the
// batch is retried without that write, as Bolt's is. Savepoints around
// each write would avoid the retry, at the cost of two more statements per
// write in every batch for a case that valid writes do not meet.

// pgApply is what one Postgres write runs in the group's transaction.
type pgApply struct {
	// stmts run in order. A write may have none: it keeps its place in
	// the callback order and nothing more.
	stmts []pgStmt
	// verdict, when set, reads the one row the last statement returns
	// and says whether the write was refused (ErrExists, ErrNotFound,
	// ErrStale, ErrSenderFull, ErrStorageFull) or made (nil). A refused
	// write's statements change nothing; the batch commits without it.
	verdict func(row pgx.Row) error
	// trimHistory asks for the public history to be trimmed to its limit
	// after the batch's writes: once per batch, however many ask. A trim
	// scans the newest PublicHistory entries; one per append made a batch
	// of 10,000 appends take over 5 s (its commit timed out), against
	// 0.2 s with one per batch (TestPostgresFullBatch, on a loaded
	// reference machine).
	trimHistory bool
	// settle asks for chat_settle after the batch's writes, once however
	// many ask: the inboxes' counts take what the batch's enqueues and acks
	// moved (migrations/0002_inbox_counts.sql).
	settle bool
	// results, when set, reads the results of all of stmts itself, in
	// place of the plain reading and the verdict: a read that rides in
	// the batch (InboxPage). It returns a statement's error as Exec would.
	results func(br pgx.BatchResults) error
}

// pgStmt is one SQL statement and its arguments.
type pgStmt struct {
	sql  string
	args []any
}

func stmt(sql string, args ...any) pgStmt { return pgStmt{sql: sql, args: args} }

// pgOp is one queued Postgres write.
type pgOp = queued[pgApply]

// exec queues a write made of stmts.
func (s *Postgres) exec(done func(error), stmts ...pgStmt) {
	s.submit(pgOp{apply: pgApply{stmts: stmts}, done: done})
}

// check queues a write made of stmts that the database may refuse: verdict
// reads the last statement's row.
func (s *Postgres) check(done func(error), verdict func(pgx.Row) error, stmts ...pgStmt) {
	s.submit(pgOp{apply: pgApply{stmts: stmts, verdict: verdict}, done: done})
}

// refuse queues a write refused at submission, so that its callback keeps
// its place.
func (s *Postgres) refuse(err error, done func(error)) {
	s.submit(pgOp{err: err, done: done})
}

// commitTries bounds the attempts at one batch when an attempt fails for a
// reason of the moment (see transient): a pooled connection found dead
// before anything was sent on it (after the database restarted), or a
// deadlock with another node's transaction, which PostgreSQL breaks by
// aborting one.
const commitTries = 3

// commit commits batch, then calls every write's callback in batch order.
func (s *Postgres) commit(batch []pgOp) {
	errs := refusedAtSubmission(batch)
	var verdicts []error
	err := retryWithout(errs, func() error {
		var err error
		verdicts, err = s.attempt(batch, errs)
		return err
	})
	for i, v := range verdicts {
		if errs[i] == nil {
			errs[i] = v
		}
	}
	finish(batch, errs, s.wrapCommitErr(err))
}

// attempt commits the writes of batch that have not failed, trying again
// (up to commitTries) when that fails for a reason of the moment. It
// returns each write's verdict; errRetry when one write failed alone (its
// error is in errs), or the error that failed the whole batch.
func (s *Postgres) attempt(batch []pgOp, errs []error) ([]error, error) {
	for try := 1; ; try++ {
		b, writes, tail := s.queueStatements(batch, errs) // a pgx.Batch is sent once
		if b.Len() == 0 {
			return nil, nil // nothing to send: no transaction, no commit
		}
		start := time.Now()
		verdicts, err := s.send(b, tail, batch, errs)
		switch {
		case err == nil:
			s.commits.Add(1)
			s.observe(writes, time.Since(start))
			return verdicts, nil
		case errors.Is(err, errRetry):
			return nil, err
		case try == commitTries || !transient(err):
			s.log.Error("store: commit failed", "db", s.where, "writes", writes, "tries", try, "err", err)
			return nil, err
		}
		s.log.Warn("store: commit failed; trying again", "db", s.where, "writes", writes, "try", try, "err", err)
	}
}

// queueStatements puts the statements of the live writes of batch (those
// without an error in errs) into one pgx.Batch, then the settling of the
// counts and the history's trim if any write asked for them; writes
// counts the live writes, tail the statements after theirs.
func (s *Postgres) queueStatements(batch []pgOp, errs []error) (b *pgx.Batch, writes, tail int) {
	b = &pgx.Batch{}
	var settle, trim bool
	for i := range batch {
		if errs[i] != nil {
			continue
		}
		writes++
		settle = settle || batch[i].apply.settle
		trim = trim || batch[i].apply.trimHistory
		for _, st := range batch[i].apply.stmts {
			b.Queue(st.sql, st.args...)
		}
	}
	if settle {
		b.Queue("SELECT chat_settle()")
		tail++
	}
	if trim {
		b.Queue(trimHistorySQL, s.cfg.PublicHistory)
		tail++
	}
	return b, writes, tail
}

// send sends b, the statements of batch's live writes (and tail more), and
// reads the results write by write: the first error is the statement's
// that failed, so it is known whose write it was. The transaction is
// committed once every result has been read and the batch closed without
// error.
func (s *Postgres) send(b *pgx.Batch, tail int, batch []pgOp, errs []error) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	defer cancel()
	br := s.pool.SendBatch(ctx, b)
	verdicts := make([]error, len(batch))
	first := true // no result read yet
	for i := range batch {
		if errs[i] != nil {
			continue
		}
		verdict, err := readResults(br, batch[i].apply)
		switch {
		case err == nil:
			verdicts[i] = verdict
			first = first && len(batch[i].apply.stmts) == 0
			continue
		case blamed(err):
			errs[i] = fmt.Errorf("store: %s: %w", s.where, err)
			err = errRetry
		case first && sessionEnded(err):
			err = notRun{err}
		}
		_ = br.Close() // the same error; the server has rolled back
		return nil, err
	}
	for range tail {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return verdicts, br.Close()
}

// readResults reads the results of one write's statements: its verdict,
// or the error of the statement that failed.
func readResults(br pgx.BatchResults, a pgApply) (verdict, err error) {
	if a.results != nil {
		return nil, a.results(br)
	}
	plain := len(a.stmts)
	if a.verdict != nil {
		plain--
	}
	for range plain {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	if a.verdict == nil {
		return nil, nil
	}
	v := a.verdict(br.QueryRow())
	if v == nil || isRefusal(v) {
		return v, nil
	}
	return nil, v // the statement's error
}

// isRefusal reports whether err is a write's refusal, which leaves the
// transaction usable.
func isRefusal(err error) bool {
	return errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrStale) ||
		errors.Is(err, ErrSenderFull) || errors.Is(err, ErrStorageFull)
}

// blamed reports whether err is the server refusing one statement for
// what it was given: bad data (class 22: an encoding, a value out of
// range), a constraint (23), or a size limit (54: a key too long for its
// index). Then only the write that ran it fails. Anything else (the
// connection, the server, a bug in a statement, which every write of that
// kind would meet) fails the batch.
func blamed(err error) bool {
	return isPgError(err, "22", "23", "54")
}

// transient reports whether an attempt that failed with err may succeed
// if made again at once: it ran nothing on a pooled connection found dead
// (deadConn, notRun), or the transaction lost a deadlock or a
// serialization conflict (class 40). A timeout is not: trying again would
// only hold the writer, and every write queued behind it, for another
// Config.QueryTimeout.
func transient(err error) bool {
	var nr notRun
	return deadConn(err) || errors.As(err, &nr) || isPgError(err, "40")
}

// deadConn reports whether err says that nothing was sent, on a connection
// that turned out to be closed, for a reason other than a timeout.
func deadConn(err error) bool {
	return pgconn.SafeToRetry(err) && !pgconn.Timeout(err)
}

// sessionEnded reports whether err is the server having ended the session
// (class 57, operator intervention: a shutdown, a restart). A pooled
// connection meets it when the database restarted since it was last used.
func sessionEnded(err error) bool {
	return isPgError(err, "57")
}

// notRun marks a batch the server ended the session of before running any
// of it: its error came before the first result, and it commits only after
// the last, so nothing was committed and the batch may be sent again.
// (After a restart, each pooled connection used within the second before
// it meets this once; the pool pings those idle for longer.)
type notRun struct{ error }

func (e notRun) Unwrap() error { return e.error }

// observe reports a successful commit of n writes.
func (s *Postgres) observe(n int, took time.Duration) {
	if s.cfg.ObserveCommit != nil {
		s.cfg.ObserveCommit(took, n)
	}
	s.log.Debug("store: commit", "writes", n, "took", took)
}

// wrapCommitErr names the database in a commit error handed to callbacks.
func (s *Postgres) wrapCommitErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: writing to %s: %w", s.where, err)
}
