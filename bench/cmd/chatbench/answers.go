package main

import (
	"maps"
	"sync"
	"sync/atomic"
)

// answers counts the server's answers to a run's own messages: receipts,
// those of them marked queued, and error frames by code. Safe for
// concurrent use by reader goroutines.
type answers struct {
	receipts atomic.Int64 // "sent" frames
	queued   atomic.Int64 // "sent" frames with "queued":true

	mu    sync.Mutex     // guards codes
	codes map[string]int // error frames by code
}

// count counts f if it is a receipt or an error frame, and reports whether
// it was one.
func (a *answers) count(kind frameKind, f serverFrame) bool {
	switch kind {
	case kindSent:
		a.receipts.Add(1)
		if f.Queued {
			a.queued.Add(1)
		}
	case kindError:
		a.mu.Lock()
		if a.codes == nil {
			a.codes = map[string]int{}
		}
		a.codes[f.Code]++
		a.mu.Unlock()
	default:
		return false
	}
	return true
}

// errorCodes returns a copy of the error frames counted by code.
func (a *answers) errorCodes() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.codes))
	maps.Copy(out, a.codes)
	return out
}
