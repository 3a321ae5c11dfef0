// Package workers runs short tasks on goroutines that outlive them.
package workers

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Pool runs short tasks (a connection's reader turn or write loop, an
// actor's mailbox run) on goroutines that outlive them. A goroutine starts
// with a small stack and grows it by copying as it goes deep
// (gorilla/websocket, encoding/json, the actor system), and the Go runtime
// frees a grown stack when its goroutine exits; a worker keeps its stack
// from task to task (the garbage collector still shrinks idle ones).
// Measured with chatbench, server pinned to one core, medians of 3:
//
//   - the edge's reader turns and write loops on a pool: 58.0 against 59.9
//     µs of server CPU per private message at 15,000 a second, and stack
//     copying down from 23% of the CPU profile to 11%;
//   - the actors' mailboxes too (actors/dispatcher.go): 51.3 against 58.0
//     µs, and the highest rate with p99 under 100 ms from 32,000-40,000 to
//     60,000 private messages a second.
//
// A task never waits for a worker: if none is idle it gets a new
// goroutine, which stays on as a worker until it has been idle for about
// IdleFor (between one and two of it). Idle workers are taken last-in
// first-out, so that a light load keeps a few of them busy and lets the
// rest retire. A task that blocks (a reader in the middle of a frame, a
// write to a full socket) only keeps its own worker busy.
//
// Retiring is one janitor's job, not each worker's: a worker between tasks
// waits on its channel alone, with no idle timer to reset and no select.
// Those took 8% of the server's CPU profile in the fan-out benchmark
// (1,000 clients at 40 messages a second, as in `make bench`; `select` 5%,
// timers 3%), 1% after; BenchmarkDo went from 640 to 450 ns a task, and
// BenchmarkDoBurst from 28.0 to 15.6 µs per 64 (medians of 6). The janitor
// runs only while some worker is idle, and ticks once per IdleFor.
type Pool struct {
	// IdleFor is how long a worker waits for a task before it exits; 0 is
	// DefaultIdle. Set before first use.
	IdleFor time.Duration

	mu      sync.Mutex // guards the fields below
	idle    []*worker  // most recently idle last, so the longest idle first
	gen     uint64     // the janitor's ticks so far
	janitor bool       // the janitor runs
}

// worker is one goroutine of the pool: it runs what arrives on task, and
// exits on nil.
type worker struct {
	task    chan func() // capacity 1: a send never blocks
	idleGen uint64      // the pool's gen when the worker last went idle
}

// DefaultIdle is how long an idle worker stays when Pool.IdleFor is 0:
// long enough to carry a worker across the gaps of a steady load.
const DefaultIdle = 2 * time.Second

// Do runs task on an idle worker, or on a new one if none is idle. It
// never blocks. task must not be nil.
func (w *Pool) Do(task func()) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		wk := w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		wk.task <- task
		return
	}
	w.mu.Unlock()
	go w.run(&worker{task: make(chan func(), 1)}, task)
}

// run is a worker: task, then whatever Do hands it, until the janitor
// hands it nil.
func (w *Pool) run(wk *worker, task func()) {
	for task != nil {
		task()
		w.mu.Lock()
		wk.idleGen = w.gen
		w.idle = append(w.idle, wk)
		if !w.janitor {
			w.janitor = true
			go w.sweep()
		}
		w.mu.Unlock()
		task = <-wk.task
	}
}

// sweep is the janitor: once per IdleFor it retires the workers that have
// been idle since before its previous tick, and it stops when none is
// idle (the next worker to go idle starts it again).
func (w *Pool) sweep() {
	t := time.NewTicker(cmp.Or(w.IdleFor, DefaultIdle))
	defer t.Stop()
	for range t.C {
		if !w.retire() {
			return
		}
	}
}

// retire ends the idle workers that went idle before the janitor's last
// tick, and reports whether any worker is still idle; when none is, the
// janitor is marked stopped.
func (w *Pool) retire() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := 0
	for old < len(w.idle) && w.idle[old].idleGen < w.gen {
		w.idle[old].task <- nil
		old++
	}
	w.idle = slices.Delete(w.idle, 0, old)
	w.gen++
	w.janitor = len(w.idle) > 0
	return w.janitor
}
