package server

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// workers runs short tasks, a reader's turn or a write loop, on goroutines
// that outlive them. A goroutine starts with a small stack and grows it by
// copying as it goes deep (gorilla/websocket, encoding/json, the actor
// system): at 20,000 private messages a second that copying was 23% of the
// server's CPU profile with a goroutine per task, and 11% with workers (the
// garbage collector still shrinks idle workers' stacks). Measured whole,
// the gain is smaller: 58.0 against 59.9 µs of server CPU per private
// message at 15,000 a second, 10.5 against 11.0 µs per delivery of a
// public message to 1,000 clients (medians of 3 runs, pinned).
//
// A task never waits for a worker: if none is idle it gets a new
// goroutine, which stays on as a worker until it has been idle for
// workerIdle. Idle workers are taken last-in first-out, so that a light
// load keeps a few of them busy and lets the rest retire. A task that
// blocks (a reader in the middle of a frame, a write to a full socket)
// only keeps its own worker busy.
type workers struct {
	// set at construction
	idleFor time.Duration // how long a worker waits for a task; 0 is workerIdle

	mu   sync.Mutex // guards idle
	idle []*worker  // most recently idle last
}

// worker is one goroutine's mailbox: a task handed over, at most one.
type worker struct{ task chan func() }

// workerIdle is how long an idle worker waits for a task before it exits:
// long enough to carry a steady load from task to task, short enough that
// a burst leaves no crowd of goroutines behind for long.
const workerIdle = 2 * time.Second

// do runs task on an idle worker, or on a new one.
func (w *workers) do(task func()) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		wk := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		wk.task <- task // buffered: never blocks
		return
	}
	w.mu.Unlock()
	go w.run(&worker{task: make(chan func(), 1)}, task)
}

func (w *workers) run(wk *worker, task func()) {
	idleFor := cmp.Or(w.idleFor, workerIdle)
	timer := time.NewTimer(idleFor)
	defer timer.Stop()
	for {
		task()
		w.mu.Lock()
		w.idle = append(w.idle, wk)
		w.mu.Unlock()
		timer.Reset(idleFor) // since Go 1.23 no stale tick can follow a Reset
		select {
		case task = <-wk.task:
		case <-timer.C:
			if w.retire(wk) {
				return
			}
			task = <-wk.task // do took it off the idle list: its task is coming
		}
	}
}

// retire takes wk off the idle list; false if do has just taken it.
func (w *workers) retire(wk *worker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.Index(w.idle, wk)
	if i < 0 {
		return false
	}
	w.idle = slices.Delete(w.idle, i, i+1)
	return true
}
