package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/actorchat/chat/proto/chatpb"
)

// Store keeps the state that must outlive an actor incarnation: known users,
// each user's inbox of unconfirmed private messages, recent public messages,
// idempotency keys and the epoch that keeps message ids unique across
// restarts.
//
// Reads are synchronous and cheap (memory, or a read transaction on a
// memory-mapped file); actors call them when they start. The one read
// actors make later, InboxPage, is asynchronous and ordered like a write.
// Writes never block
// the caller on I/O: each takes a done callback that the store calls exactly
// once, when the write is durable (or has failed). Callbacks are called in
// the order the writes were made, possibly before the write method returns,
// and must not block: actors pass a function that posts a message to their
// own mailbox.
//
// Implementations are safe for concurrent use.
type Store interface {
	// NextEpoch returns a number never returned before by this store, also
	// across restarts; message ids are built from it.
	NextEpoch() (uint64, error)

	// Users returns every known user name, in no particular order.
	Users() ([]string, error)
	// Known reports whether name is known (was added with AddUser): one
	// point read, so that whether a name exists costs no memory per name.
	Known(name string) (bool, error)
	// AddUser records name as known. Adding a known name is not an error.
	AddUser(name string, done func(error))

	// Inbox returns user's undelivered private messages, oldest first, all
	// of them: for tools and tests. The actors read an inbox a page at a
	// time (InboxPage), so that what waits is on disk, not in memory.
	Inbox(user string) ([]*chatpb.Message, error)
	// InboxStats returns how much user's inbox holds, without reading it:
	// one point read.
	InboxStats(user string) (InboxStats, error)
	// InboxPage reads, oldest first, the messages of user's inbox after
	// the position after (0: from the start): at most limit of them, and
	// no more once they hold maxBytes stored bytes (at least one, however
	// large). Unlike the other reads it is ordered like a write: it sees
	// exactly the writes submitted before it, none submitted after, and
	// done is called like a write's callback, in submission order among
	// them, exactly once. So a reader that also writes (a user actor) can
	// tell which of its writes a page reflects without asking again.
	InboxPage(user string, after uint64, limit, maxBytes int, done func(Page, error))
	// Enqueue appends m to the inbox of m.To. A message whose id is already
	// in that inbox is not added twice, so a retried write is harmless. It
	// fails, changing nothing, with ErrSenderFull or ErrStorageFull when
	// the message would take its sender's queued bytes or all inboxes'
	// past Config.SenderMaxBytes or Config.MaxQueuedBytes (checked in that
	// order, atomically with the write, whatever else writes at once); a
	// message there already is no new one, and passes.
	Enqueue(m *chatpb.Message, done func(error))
	// EnqueueKeyed is Enqueue, and in the same transaction PutKey(m.From,
	// key) if and only if m is then in the inbox (stored now, or before):
	// a message refused by a cap leaves no key behind that would answer
	// its sender's retry with a receipt. A nil key stores no key. Its
	// callback also says where the message is and whether it is new
	// there, so that the inbox's reader can count it and place it.
	EnqueueKeyed(m *chatpb.Message, key *chatpb.KeyRecord, done func(Enqueued, error))
	// Ack removes the messages with the given ids from user's inbox. Ids that
	// are not there are ignored.
	Ack(user string, ids []string, done func(error))
	// Usage reports what the store holds, for metrics: what the caps
	// count, and the store's own size.
	Usage() (Usage, error)

	// Recent returns the kept public messages, oldest first.
	Recent() ([]*chatpb.Message, error)
	// AppendPublic adds m to the public history, dropping the oldest past the
	// store's limit.
	AppendPublic(m *chatpb.Message, done func(error))

	// Keys returns user's idempotency keys that have not expired at nowMs.
	Keys(user string, nowMs int64) ([]*chatpb.KeyRecord, error)
	// PutKey remembers r for user until r.ExpiresUnixMs.
	PutKey(user string, r *chatpb.KeyRecord, done func(error))

	// Close finishes pending writes and releases the store. Writes after
	// Close fail with ErrClosed, and so do reads. Calling Close again
	// returns the first call's result.
	Close() error
}

// ErrClosed is the error of a write made after Close.
var ErrClosed = errors.New("store: closed")

// ErrStorageFull refuses an Enqueue that would take the stored bytes of
// all queued private messages past Config.MaxQueuedBytes: the disk is
// spoken for, and no single sender is to blame.
var ErrStorageFull = errors.New("store: the queued private messages are at the store's limit")

// ErrSenderFull refuses an Enqueue that would take the stored bytes its
// sender has queued in other users' inboxes past Config.SenderMaxBytes.
var ErrSenderFull = errors.New("store: the sender's undelivered private messages are at their limit")

// errEmptyUser refuses a write for the empty user name.
var errEmptyUser = errors.New("store: empty user name")

// validMessage reports why m cannot be stored as a message of kind k, or nil.
// Checking before queueing keeps a bad write from failing a whole batch.
func validMessage(m *chatpb.Message, k chatpb.Kind) error {
	switch {
	case m == nil:
		return errors.New("store: nil message")
	case m.GetId() == "":
		return errors.New("store: message without id")
	case k == chatpb.Kind_KIND_DM && m.GetTo() == "":
		return fmt.Errorf("store: private message %s without recipient", m.GetId())
	}
	return nil
}

// validKeyed reports why m, with key (when not nil) for its sender,
// cannot be stored by EnqueueKeyed, or nil.
func validKeyed(m *chatpb.Message, key *chatpb.KeyRecord) error {
	if err := validMessage(m, chatpb.Kind_KIND_DM); err != nil || key == nil {
		return err
	}
	return validKey(m.GetFrom(), key)
}

// validKey reports why r cannot be stored as user's key, or nil.
func validKey(user string, r *chatpb.KeyRecord) error {
	switch {
	case user == "":
		return errEmptyUser
	case r == nil || r.GetKey() == "":
		return errors.New("store: key record without key")
	}
	return nil
}

// call calls done with err unless done is nil, so callers that do not care
// about the outcome may pass nil.
func call(done func(error), err error) {
	if done != nil {
		done(err)
	}
}

// Pinger is a store that depends on a server, and can tell whether that
// server answers (Postgres): a readiness check. Memory and Bolt live in the
// process and are ready while open.
type Pinger interface {
	// Ping returns nil when the store's server answered within ctx.
	Ping(ctx context.Context) error
}

// The implementations satisfy Store.
var (
	_ Store  = (*Memory)(nil)
	_ Store  = (*Bolt)(nil)
	_ Store  = (*Postgres)(nil)
	_ Pinger = (*Postgres)(nil)
)
