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
// what the user receives, user_window.go the part of the inbox a live
// session is being sent, user_keys.go idempotency keys, user_ratelimit.go
// the rate limit, user_passivate.go how an idle one stops, user_revoke.go
// how a revoked token ends its session), room*.go the
// public room and its roster. chat.go starts the system; config.go, ids.go
// and dispatcher.go serve every actor.
//
//   - registry (one, "registry"): the map of user names to the PIDs of
//     running user actors, and nothing for the others. It spawns and
//     supervises user actors (registry_supervision.go). It is on the path
//     of a connection and of a user's first private message to each peer
//     only: user actors cache peer PIDs.
//   - user (one per name with a running actor, "registry/NAME"): the user's
//     session, inbox of unconfirmed private messages (its count; the
//     messages are in the store, and in memory only the delivery window of
//     a live session and its read-ahead), rate limit and idempotency keys. The only place that decides whether a private
//     message is delivered now or queued, and whether a name is known (it
//     reads that from the store when it starts: a route to a name the store
//     does not know is refused with unknown_user). Its session and delivery
//     marks live in a userCell that survives restarts; the inbox's count
//     and window are read again from the store.
//
// # Passivation
//
// A user actor with no session and nothing in flight stops after
// Config.UserIdle without messages, in a handshake with the registry that
// loses no message (user_passivate.go); the next message for the name
// starts a fresh actor from the store. Offline users thus cost no memory:
// no actor, no entry in the registry, no watch in their peers' actors;
// before that, an offline user's actor holds the count of its queue, not
// the queue. What survives is what the store keeps: the inbox, the idempotency keys,
// the name. The userCell dies with the actor, and with it the delivery
// marks; a fresh actor marks its inbox as after a restart: a message
// stored while its recipient was online counts as written to an earlier
// connection, and is delivered with redelivered set; one queued while the
// recipient was offline counts as not written (even if it was written to a
// connection that ended unconfirmed). That is exactly as exact as across a
// restart: keeping the marks of offline users would be memory per offline
// user, and storing them a write per delivery.
//   - room (one, "room"): the online members and the recent public
//     messages. The single place where public messages are ordered and
//     stamped, so every member sees one order.
//
// # Cluster
//
// With Config.Cluster the same actors run on every node of a Proto.Actor
// cluster (remote over gRPC, membership in etcd, grains placed by the
// distributed-hash identity lookup), sharing one PostgreSQL store
// (cluster*.go). What each actor becomes:
//
//   - user: a grain of kind "user" keyed by the name (cluster_user.go):
//     any node reaches alice's actor, which lives on one node at a time and
//     is activated on a surviving node when its own dies. It is the same
//     user actor; the seam is what it sends to deps.registry and deps.room,
//     which on a cluster are node-local stand-ins. A restarted incarnation
//     finds its cell by PID; Proto.Actor's default strategy supervises it
//     (restart, up to 10 times in 10 s, then stop) instead of the
//     registry's budget.
//   - registry: its role, names to actors, is the identity lookup's. Each
//     node has a router in its place ("registry", cluster_router.go): it
//     finds a peer's grain on a goroutine of its own (cluster.Get blocks,
//     an actor must not) and hands it what waited for that name, in order,
//     with a Resolved for the sender's cache, as the registry does. A
//     Passivate is answered at once: nothing reaches a grain through the
//     router but in order, and the senders' watches cover what peers sent
//     directly. Chat.ConnectWithToken asks the grain itself, finding it
//     again when it stopped in between (a dead letter).
//   - room: a grain of kind "room", "public": still the one place where
//     public messages are ordered and stamped, so every member sees one
//     order. Each node has a room link in its place ("roomlink",
//     cluster_roomlink.go) that passes its users' requests on to the room
//     grain, and fans the room's messages out to the sessions of its node:
//     the room sends each public message once per node with members
//     (cluster_room.go). When the room's node dies, the links find the room
//     anew and tell it their members; the history comes from the store.
//     Publishes the room never answered are refused, not lost.
//
// A session may be on another node than its user's actor. The actor
// watches a remote session (user_remote.go) and the session its remote
// actor (server/watch.go), so either one's node dying ends the other's
// side: a session whose actor died is closed with 1011, and its client's
// reconnect activates a fresh actor from the store. Private messages are
// in the store until confirmed, and senders route again what a stopped
// recipient left unanswered, so the guarantees of one node hold.
//
// What a cluster does not guarantee: while members come and go, two nodes
// may briefly disagree on where a grain lives (each node's view of the
// member list comes from etcd, a moment apart), so for that moment a user
// or the room can have two activations; the one that loses is stopped at
// the next topology change. Private messages stay at least once (both
// write to the store; the survivor reloads it), but a public message sent
// in that moment may reach only some members, and a connection may be
// closed with 1011 and reconnect.
//
// # Revocation
//
// The edge attaches a session with the id of the token it was opened with
// (Chat.ConnectWithToken), and the user actor keeps that id while the
// session lasts. Chat.Revoke sends the registry a Revoke, which it forwards
// to the user's running actor only: a user without one has no session,
// and none is started for the news. The actor ends its session when the
// Revoke covers the session's token (user_revoke.go). The actors hold no
// record of revocations; the auth store does, and the edge, which checks
// a session's token again once attached, covers a revocation that arrived
// before the session did (server/doc.go, "Revocation").
//
// # Concurrency contract
//
// Each actor's state is touched only by its Receive, one message at a
// time. Receive never blocks: no network I/O, no fsync, no waiting on a
// future. Store writes are asynchronous; their completion comes back as a
// message to the actor's own mailbox (stored, enqueued), and the store
// completes writes in submission order, which is what keeps delivery order.
// Timers, likewise, only post a message (a user actor's idle clock).
// Synchronous store reads happen only when an actor starts (a few point
// reads); an inbox is read later, while its session drains it, a page at a
// time with the store's asynchronous read, which the store orders among
// the actor's writes and which comes back as a message too (paged). Mailboxes run on a pool of
// reused goroutines (dispatcher.go), never more than one run per actor at
// a time, as with Proto.Actor's default dispatcher.
//
// Shared by all actors and safe for concurrent use: the store, the logger,
// the clock, the id source (an atomic counter) and the inbox-depth and
// held-message counters.
//
// Messages between actors are the protobuf types of proto/chatpb, so that
// they could cross nodes; only the store-completion messages, which never
// leave the actor that posts them to itself, are plain Go structs.
package actors
