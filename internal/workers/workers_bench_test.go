package workers

import (
	"sync"
	"testing"
)

// BenchmarkDo is the cost of handing a task to a worker and running it,
// the pool's overhead per reader turn, write loop or mailbox run.
func BenchmarkDo(b *testing.B) {
	w := &Pool{}
	var wg sync.WaitGroup
	task := func() { wg.Done() }
	for b.Loop() {
		wg.Add(1)
		w.Do(task)
		wg.Wait()
	}
}

// BenchmarkDoBurst hands out tasks in bursts of 64, as a fan-out starts
// write loops, and waits for each burst.
func BenchmarkDoBurst(b *testing.B) {
	w := &Pool{}
	var wg sync.WaitGroup
	task := func() { wg.Done() }
	for b.Loop() {
		wg.Add(64)
		for range 64 {
			w.Do(task)
		}
		wg.Wait()
	}
}
