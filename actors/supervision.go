package actors

import (
	"fmt"
	"log/slog"

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
// an internal error, and the next connection spawns a fresh actor.
//
// The registry and the room are children of the root guardian and are
// restarted by Proto.Actor's default strategy; they hold no client-driven
// logic that is expected to panic.

// userSupervisor returns the strategy the registry applies to user actors.
func userSupervisor(cfg Config) actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(cfg.RestartLimit, cfg.RestartWindow, actor.DefaultDecider)
}

// logSupervision subscribes to the system's supervision events and logs
// each one: which actor failed, why, and what its supervisor did. It returns
// the subscription so the caller can end it.
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
