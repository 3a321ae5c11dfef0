// Package testload is what tests need of the machine's load: Busy loads
// it, for tests that must see how the code behaves when the CPU is
// contended, as on a busy server (close frames racing a peer's input,
// readers waiting for a core); Heap reads the live heap, for tests that
// bound what a load leaves behind.
//
// # Concurrency contract
//
// Busy starts its own goroutines and stops them when stop is closed; the
// returned WaitGroup says when they have. Heap may be called from any
// goroutine; it measures the whole process.
package testload

import (
	"runtime"
	"sync"
)

// Busy keeps every core busy until stop is closed, yielding now and then
// so that the code under test still gets its share, as under real load.
func Busy(stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%1000 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	return &wg
}

// Heap returns the bytes of live heap objects after two full collections
// (the second also frees what sync.Pools kept as victims).
func Heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
