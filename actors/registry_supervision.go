package actors

import (
	"fmt"
	"log/slog"
	"strings"
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
// Each decision is logged here, in the operator's words: whose actor failed,
// which failure of how many tolerated in what window, why, and what happens
// next. It is also published on the event stream as an
// actor.SupervisorEvent, which the server's metrics count by directive.
//
// The registry and the room are children of the root guardian and are
// restarted by Proto.Actor's default strategy; they hold no client-driven
// logic that is expected to panic. logSupervision logs their failures.

// HandleFailure is the registry's supervision of its user actors. It runs
// on the registry's own goroutine, so a stop decision takes effect before
// the registry handles anything else: from then on, messages for that name
// wait for its next actor instead of being lost with the stopping one's
// mailbox.
func (r *registry) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason, _ any) {
	failures, d := r.budget.decide(rs)
	name, known := r.names[child.Id]
	r.budget.log(r.deps.logger, name, failures, reason, d)
	publishSupervision(system, child, reason, d)
	if d == actor.StopDirective {
		if known {
			delete(r.users, name)
			r.hold(name) // what a passivation round holds already stays held
		}
		sup.StopChildren(child)
		return
	}
	sup.RestartChildren(child)
}

// restartBudget decides, for one failure of a user actor, between restart
// and stop.
type restartBudget struct {
	limit  int           // restarts tolerated within window
	window time.Duration // see Config.RestartWindow
}

// decide records one failure and returns how many there have been within
// the window, this one included, and the directive: restart while that is
// within the limit, stop (and forget the count) past it.
func (b restartBudget) decide(rs *actor.RestartStatistics) (int, actor.Directive) {
	rs.Fail()
	n := rs.NumberOfFailures(b.window)
	if n > b.limit {
		rs.Reset()
		return n, actor.StopDirective
	}
	return n, actor.RestartDirective
}

// afterStop tells the operator what a stop means for the user: the
// actor's own stopping handler closes the connection, if there is one.
const afterStop = "closed if open: error internal, close 1011; a reconnect starts a fresh actor from the store"

// log writes the warning for one decision about user's actor, for example
//
//	msg="user actor failed; restarting" user=bob failure=3 limit=5 window=1m reason="..."
//	msg="user actor failed too often; stopping it" user=bob failures=6 limit=5 window=1m reason="..." connection="..."
func (b restartBudget) log(logger *slog.Logger, user string, failures int, reason any, d actor.Directive) {
	why := fmt.Sprint(reason)
	if d == actor.StopDirective {
		logger.Warn("user actor failed too often; stopping it", "user", user, "failures", failures,
			"limit", b.limit, "window", shortDuration(b.window), "reason", why, "connection", afterStop)
		return
	}
	logger.Warn("user actor failed; restarting", "user", user, "failure", failures,
		"limit", b.limit, "window", shortDuration(b.window), "reason", why)
}

// shortDuration renders d as an operator writes it: "1m" rather than
// "1m0s", "1h30m" rather than "1h30m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// publishSupervision puts a supervision event on the system's event stream,
// where the server's metrics count it by directive.
func publishSupervision(system *actor.ActorSystem, child *actor.PID, reason any, d actor.Directive) {
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: d})
}

// userActorPrefix starts the id of every user actor: they are the
// registry's children, "registry/NAME".
const userActorPrefix = "registry/"

// logSupervision subscribes to the system's supervision events and logs
// those about actors other than user actors (the registry and the room,
// supervised by Proto.Actor's default strategy): which actor failed, why,
// and what its supervisor did. HandleFailure has logged the user actors'
// already, with their budget. It returns a function that ends the
// subscription.
func logSupervision(system *actor.ActorSystem, logger *slog.Logger) func() {
	sub := system.EventStream.Subscribe(func(evt any) {
		e, ok := evt.(*actor.SupervisorEvent)
		if !ok || strings.HasPrefix(e.Child.GetId(), userActorPrefix) {
			return
		}
		logger.Warn("actor failed; "+directiveWords(e.Directive),
			"actor", e.Child.GetId(), "reason", fmt.Sprint(e.Reason))
	})
	return func() { system.EventStream.Unsubscribe(sub) }
}

// directiveWords says what a supervisor's directive does to the actor.
func directiveWords(d actor.Directive) string {
	switch d {
	case actor.RestartDirective:
		return "restarting"
	case actor.StopDirective:
		return "stopping it"
	case actor.ResumeDirective:
		return "resuming it"
	}
	return "escalating"
}
