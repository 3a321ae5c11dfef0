package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/actorchat/chat/proto/chatpb"
)

// Benchmarks of the durable store on the real disk (b.TempDir). Each
// reports msgs/s: messages made durable (or acked) per second of wall time,
// the callbacks of all of them included, and cpu-µs/msg: process CPU time
// per message, where the platform tells it.
//
// Submitters model user actors whose senders wait for their `sent`
// receipt: each submits one message and waits for its callback before the
// next. benchSubmitters of them run at once (b.SetParallelism).

// benchSubmitters is how many goroutines submit at once, per GOMAXPROCS.
const benchSubmitters = 64

// benchUsers spreads messages over this many inboxes.
const benchUsers = 1000

// benchMessage returns the n-th benchmark message, of a typical size.
func benchMessage(n int64) *chatpb.Message {
	return &chatpb.Message{
		Id: fmt.Sprintf("m%d", n), Kind: chatpb.Kind_KIND_DM,
		From: "sender", To: fmt.Sprintf("user%d", n%benchUsers),
		Text: strings.Repeat("x", 80), TsUnixMs: 1_800_000_000_000 + n,
	}
}

// reportRate reports b.N messages over the benchmark's elapsed time.
func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// submitEach runs b.N calls of write from benchSubmitters goroutines per
// GOMAXPROCS, each waiting for a write's callback before the next; n is a
// number unique to the call.
func submitEach(b *testing.B, write func(n int64, done func(error))) {
	var next atomic.Int64
	b.SetParallelism(benchSubmitters)
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan error, 1)
		for pb.Next() {
			write(next.Add(1), func(err error) { done <- err })
			if err := <-done; err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportRate(b)
	if cpu := processCPU() - cpu0; cpu > 0 {
		// How much of the machine the store needs per message: user and
		// system time of the whole process, the submitters included.
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	}
}

// BenchmarkEnqueueGroupCommit measures Enqueue with group commit.
func BenchmarkEnqueueGroupCommit(b *testing.B) {
	s := openBolt(b, filepath.Join(b.TempDir(), "chat.db"), Config{})
	submitEach(b, func(n int64, done func(error)) { s.Enqueue(benchMessage(n), done) })
	b.ReportMetric(float64(b.N)/float64(max(s.commits.Load(), 1)), "msgs/commit")
}

// BenchmarkEnqueueFsyncEach is the naive comparison: the same writes, each
// in its own bbolt transaction and fsync, as many callers at once as above.
func BenchmarkEnqueueFsyncEach(b *testing.B) {
	s := openBolt(b, filepath.Join(b.TempDir(), "chat.db"), Config{})
	submitEach(b, func(n int64, done func(error)) {
		m := benchMessage(n)
		data, err := encodeMessage(m, chatpb.Kind_KIND_DM)
		if err == nil {
			qm := queuedMsg{to: m.To, from: m.From, id: m.Id}
			err = s.db.Update(func(tx *bolt.Tx) error {
				_, err := putInbox(tx, qm, data, quota{})
				return err
			})
		}
		done(err)
	})
}

// BenchmarkDeliverCycle measures the steady state of online recipients:
// each message is enqueued and, once durable, acked (its delivery
// confirmed), so inboxes stay small. msgs/s counts messages, each of them
// two writes.
func BenchmarkDeliverCycle(b *testing.B) {
	s := openBolt(b, filepath.Join(b.TempDir(), "chat.db"), Config{})
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

// BenchmarkAck measures Ack of one message at a time (the worst case: the
// server acks whatever one pong confirmed) with group commit, on inboxes
// holding the b.N messages being acked.
func BenchmarkAck(b *testing.B) {
	s := openBolt(b, filepath.Join(b.TempDir(), "chat.db"), Config{})
	fill(b, s, b.N)
	submitEach(b, func(n int64, done func(error)) {
		m := benchMessage(n)
		s.Ack(m.To, []string{m.Id}, done)
	})
	for u := range 3 {
		if got := inbox(b, s, fmt.Sprintf("user%d", u)); len(got) != 0 {
			b.Fatalf("user%d still holds %d messages", u, len(got))
		}
	}
}

// fill enqueues messages 1..n without waiting between them, then waits for
// all of them.
func fill(b *testing.B, s *Bolt, n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 1; i <= n; i++ {
		s.Enqueue(benchMessage(int64(i)), func(err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}
