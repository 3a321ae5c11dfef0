// Package actors is the chat server's inside: Proto.Actor actors that own
// all chat state and logic. It knows nothing of HTTP or WebSockets; the
// edge (package server) attaches a session, an actor.Process of its own,
// with Chat.Connect and then sends the user actor one protobuf message per
// client request, with the session as the sender.
//
// # Actors and what each owns
//
// The files are named after the actor tree: registry*.go is the registry
// and its supervision of user actors, user*.go the user actor (user.go its
// lifecycle and sessions, user_send.go what the user sends, user_inbox.go
// what the user receives, user_keys.go idempotency keys, user_ratelimit.go
// the rate limit), room*.go the public room and its roster. chat.go starts
// the system; config.go, ids.go and dispatcher.go serve every actor.
//
//   - registry (one, "registry"): the map of user names to user-actor PIDs
//     and the set of known names. It spawns and supervises user actors
//     (registry_supervision.go). It is on the path of a connection and of a user's
//     first private message to each peer only: user actors cache peer PIDs.
//   - user (one per name, "registry/NAME"): the user's session, inbox of
//     unconfirmed private messages, rate limit and idempotency keys. The
//     only place that decides whether a private message is delivered now or
//     queued. Its session and delivery marks live in a userCell that
//     survives restarts; the inbox is reloaded from the store.
//   - room (one, "room"): the online members and the recent public
//     messages. The single place where public messages are ordered and
//     stamped, so every member sees one order.
//
// # Concurrency contract
//
// Each actor's state is touched only by its Receive, one message at a
// time. Receive never blocks: no network I/O, no fsync, no waiting on a
// future. Store writes are asynchronous; their completion comes back as a
// message to the actor's own mailbox (stored, enqueued), and the store
// completes writes in submission order, which is what keeps delivery order.
// Store reads happen only when an actor starts. Mailboxes run on a pool of
// reused goroutines (dispatcher.go), never more than one run per actor at
// a time, as with Proto.Actor's default dispatcher.
//
// Shared by all actors and safe for concurrent use: the store, the logger,
// the clock, the id source (an atomic counter) and the inbox-depth counter.
//
// Messages between actors are the protobuf types of proto/chatpb, so that
// they could cross nodes; only the store-completion messages, which never
// leave the actor that posts them to itself, are plain Go structs.
package actors
