package store

import (
	"context"
	"testing"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/chatpb"
)

// Benchmarks of the PostgreSQL store, against the test binary's throwaway
// server on loopback TCP (fsync on), with the same submitters as the Bolt
// benchmarks (bench_test.go): each waits for its write's callback before
// the next. cpu-µs/msg is this process's CPU only, not the server's.

// BenchmarkPostgresEnqueueGroupCommit measures Enqueue with group commit.
func BenchmarkPostgresEnqueueGroupCommit(b *testing.B) {
	s := openPostgres(b, pgtest.Shared(b).Schema(b), Config{})
	submitEach(b, func(n int64, done func(error)) { s.Enqueue(benchMessage(n), done) })
	b.ReportMetric(float64(b.N)/float64(max(s.commits.Load(), 1)), "msgs/commit")
}

// BenchmarkPostgresEnqueueCommitEach is the naive comparison: the same
// writes, each its own transaction on a pooled connection (PostgreSQL may
// still flush several connections' commits at once), as many callers at
// once as above.
func BenchmarkPostgresEnqueueCommitEach(b *testing.B) {
	s := openPostgres(b, pgtest.Shared(b).Schema(b), Config{})
	submitEach(b, func(n int64, done func(error)) {
		m := benchMessage(n)
		data, err := encodeMessage(m, chatpb.Kind_KIND_DM)
		if err == nil {
			_, err = s.pool.Exec(context.Background(), enqueueSQL, m.To, m.Id, m.From, data, int64(0), int64(0))
		}
		done(err)
	})
}

// BenchmarkPostgresDeliverCycle measures the steady state of online
// recipients, as BenchmarkDeliverCycle does for Bolt: each message is
// enqueued and, once durable, acked. msgs/s counts messages, each of them
// two writes.
func BenchmarkPostgresDeliverCycle(b *testing.B) {
	s := openPostgres(b, pgtest.Shared(b).Schema(b), Config{})
	submitEach(b, func(n int64, done func(error)) {
		m := benchMessage(n)
		s.Enqueue(m, func(err error) {
			if err != nil {
				done(err)
				return
			}
			s.Ack(m.To, []string{m.Id}, done) // allowed from a callback
		})
	})
}
