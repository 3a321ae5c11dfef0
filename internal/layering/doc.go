// Package layering holds the test that keeps the project's dependencies
// pointing inward (see README, "Architecture"). It checks what each package
// links, transitively (go list's Deps), not only what it imports:
//
//   - proto/wire depends on nothing of ours and nothing of Proto.Actor
//     (github.com/asynkron): the wire vocabulary stands alone;
//   - proto/ imports nothing of ours but itself;
//   - actors/ depends on neither server/ (nor client/, cmd/) nor the
//     WebSocket library, and does not import net/http itself (Proto.Actor
//     links net/http, so that rule can only hold for direct imports);
//   - server/ does not depend on client/;
//   - server/transport links nothing of the chat (actors, proto, auth), nor
//     Proto.Actor, OpenTelemetry or Prometheus: it moves frames for any app;
//   - client/ and cmd/chat depend on nothing of the server's side: not
//     server/ or actors/, nor Proto.Actor, OpenTelemetry or Prometheus;
//   - nothing imports cmd/.
//
// A second test proves that each rule flags a made-up violation. It has no
// code of its own; it runs `go list`, so it needs the go command.
package layering
