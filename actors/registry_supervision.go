package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The supervision policy, in one place.
//
// User actors are the only actors expected to fail: they run per-user logic
// on client input. Their parent, the registry, restarts a failed user actor
// one-for-one, so a fault in one user never touches another. A restart loses
// nothing: the session survives in the user's cell and the inbox is reloaded
// from the store. A user actor that fails more than RestartLimit times within
// RestartWindow is stopped instead; on stopping it closes its connection with
// an internal error. Until the stopped actor is gone, the registry holds back
// what arrives for its name; then it spawns a fresh actor from the store and
// hands it those messages (registry.go).
//
// The registry and the room are children of the root guardian and are
// restarted by Proto.Actor's default strategy; they hold no client-driven
// logic that is expected to panic.

// restartBudget decides, for one failure of a user actor, between restart
// and stop.
type restartBudget struct {
	limit  int           // restarts tolerated within window
	window time.Duration // see Config.RestartWindow
}

func (b restartBudget) decide(rs *actor.RestartStatistics) actor.Directive {
	rs.Fail()
	if rs.NumberOfFailures(b.window) > b.limit {
		rs.Reset()
		return actor.StopDirective
	}
	return actor.RestartDirective
}

// publishSupervision puts a supervision event on the system's event stream,
// where logSupervision and the server's metrics see it.
func publishSupervision(system *actor.ActorSystem, child *actor.PID, reason any, d actor.Directive) {
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: d})
}

// logSupervision subscribes to the system's supervision events and logs
// each one: which actor failed, why, and what its supervisor did. It returns
// a function that ends the subscription.
func logSupervision(system *actor.ActorSystem, logger *slog.Logger) func() {
	sub := system.EventStream.Subscribe(func(evt any) {
		e, ok := evt.(*actor.SupervisorEvent)
		if !ok {
			return
		}
		logger.Warn("supervision",
			"actor", e.Child.GetId(),
			"reason", fmt.Sprint(e.Reason),
			"directive", e.Directive.String())
	})
	return func() { system.EventStream.Unsubscribe(sub) }
}
