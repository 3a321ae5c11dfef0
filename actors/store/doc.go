// Package store keeps the chat state that must outlive an actor: known users,
// inboxes of unconfirmed private messages, recent public messages,
// idempotency keys and the epoch behind message ids. Store is the interface
// the actors use; Memory keeps it in process memory, Bolt in a bbolt file,
// Postgres in a PostgreSQL database that several processes (the nodes of a
// cluster) may share. All three also keep accounts and their tokens, for
// package auth (Accounts).
//
// # Concurrency contract
//
// Every implementation may be used from any number of goroutines at once.
//
// Accounts (accounts.go) follows the same rules as Store: Account,
// ListAccounts, Token and Tokens are reads; CreateAccount, SetPassword,
// SetDisabled, PutToken, DeleteToken and DeleteTokens are writes.
//
// Reads (Users, Known, Inbox, InboxStats, Recent, Keys, Usage) are
// synchronous and return copies the caller owns. On Bolt each is a bbolt
// read transaction on the caller's goroutine: it does not wait for writes,
// and sees a write once that write's done callback has been called. On
// Postgres each is a query on the caller's goroutine through a connection
// pool, with the same visibility, bounded by Config.QueryTimeout; it returns
// an error when the database cannot be reached.
//
// InboxPage is the one asynchronous read, for callers that must not block
// (a user actor draining its inbox): it is queued and completed like a
// write, and everything said of writes below holds for it too (its
// callback's place in the order, the goroutine it is called on, what the
// callback may do). Bolt reads it inside the group's write transaction,
// Postgres in the group's batch, Memory under its lock; each sees exactly
// the writes submitted before it.
//
// Writes (AddUser, Enqueue, Ack, AppendPublic, PutKey) never wait for I/O.
// They copy (encode) their arguments before returning, so the caller may
// change or reuse them at once. Each write's done callback is called exactly
// once: with nil when the write is durable (Bolt) or applied (Memory), or
// with the error that stopped it.
//
// Memory applies a write and calls its callback on the caller's goroutine
// before the write method returns, without holding its lock.
//
// Every implementation keeps the counts of inbox.go (per inbox, per
// sender, in all) in the same transaction as the change that moves them,
// and Enqueue checks Config's caps against them in that transaction too:
// Memory under its lock, Bolt on its one writer, Postgres under a row lock
// that every node's enqueues and acks take first.
//
// Bolt and Postgres queue a write (holding a mutex only to append to an
// unbounded slice) and return; the queue is theirs in common (queue.go).
// One writer goroutine per Bolt owns every bbolt write transaction: it
// takes everything queued (up to Config.MaxBatch), applies it in one
// transaction, commits it (one bbolt commit: one sync of the data pages,
// one of the meta page, however many writes), and then calls the callbacks
// of that batch on the writer goroutine, in the order the writes were
// submitted. Across batches callbacks also keep submission order, so
// callbacks of one Bolt are called in submission order overall. A callback
// therefore delays every later commit while it runs: it must not block, and
// must not call NextEpoch or Close (both wait for the writer). It may submit
// more writes.
//
// NextEpoch blocks its caller until the new epoch is committed (one group
// commit, shared with whatever else is queued). Close refuses new writes,
// blocks until everything queued before it is committed and its callbacks
// have been called, then closes the file; writes made after it fail with
// ErrClosed, still in submission order.
//
// Postgres does the same with one writer goroutine per Postgres: a batch is
// one pipelined round trip, one transaction, one commit, and the callbacks
// follow in submission order, with the same rules for what a callback may
// do. Its NextEpoch is a sequence, read on the caller's goroutine without
// the writer. Another process's writer may commit to the same database at
// any time: no write relies on being the only one (postgres.go). A write
// fails, through its callback, when the database cannot be reached within
// Config.QueryTimeout; nothing is dropped silently, and the store needs no
// reopening once the database is back. Close drains the queue as Bolt's
// does, then closes the pool.
package store
