package workers

import (
	"runtime"
	"testing"
	"time"
)

const workersWait = 5 * time.Second

// idleWorkers polls until n workers are idle; false if that never happens.
func idleWorkers(w *Pool, n int) bool {
	deadline := time.Now().Add(workersWait)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		idle := len(w.idle)
		w.mu.Unlock()
		if idle == n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func TestWorkersReuseAnIdleWorker(t *testing.T) {
	t.Parallel()
	w := &Pool{}
	for i := range 20 {
		done := make(chan struct{})
		w.Do(func() { close(done) })
		<-done
		if !idleWorkers(w, 1) {
			t.Fatalf("task %d: not exactly one idle worker after sequential tasks", i)
		}
	}
}

func TestWorkersABlockedTaskHoldsUpNoOther(t *testing.T) {
	t.Parallel()
	w := &Pool{}
	block := make(chan struct{})
	defer close(block)
	w.Do(func() { <-block })
	done := make(chan int, 10)
	for i := range 10 {
		w.Do(func() { done <- i })
	}
	for range 10 {
		select {
		case <-done:
		case <-time.After(workersWait):
			t.Fatal("tasks wait behind a blocked one")
		}
	}
}

// Not parallel: it counts the process's goroutines.
func TestWorkersRetireWhenIdle(t *testing.T) {
	base := runtime.NumGoroutine()
	w := &Pool{IdleFor: 10 * time.Millisecond}
	done := make(chan struct{}, 5)
	release := make(chan struct{})
	for range 5 {
		w.Do(func() { <-release; done <- struct{}{} })
	}
	close(release)
	for range 5 {
		<-done
	}
	deadline := time.Now().Add(workersWait)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("idle workers did not retire: %d goroutines, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
	if !idleWorkers(w, 0) {
		t.Fatal("retired workers are still on the idle list")
	}
	ran := make(chan struct{})
	w.Do(func() { close(ran) }) // a new worker starts after all retired
	select {
	case <-ran:
	case <-time.After(workersWait):
		t.Fatal("no task runs after the workers retired")
	}
}
