package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/internal/workers"
)

// dispatcher runs actors' mailboxes on a pool of reused goroutines.
// Proto.Actor's default starts a new goroutine each time an idle mailbox
// gets a message, and each of those grows its stack by copying as it goes
// through Receive; pooled goroutines have grown theirs already.
type dispatcher struct{ pool *workers.Pool }

var _ actor.Dispatcher = dispatcher{}

// Schedule runs a mailbox's run; it never blocks.
func (d dispatcher) Schedule(run func()) { d.pool.Do(run) }

// Throughput is how many messages a mailbox handles before its goroutine
// lets others run: Proto.Actor's default.
func (d dispatcher) Throughput() int { return 300 }
