package store

import "github.com/actorchat/chat/proto/chatpb"

// What every store keeps about its inboxes beside the messages: how much
// each holds, how much each sender has queued in others' inboxes, and how
// much all of them hold, so that a user actor need not hold its inbox to
// know its size, and so that Enqueue can refuse what would pass a cap in
// the same atomic step that would store it. The counters follow every
// Enqueue and Ack, survive restarts with the store, and are what Usage
// reports.
//
// A message's size is its stored record's: the bytes of its encoding.
// Sender counts go by Message.From, and only for messages to someone else:
// a note to oneself fills one's own inbox, which QueueMax (in the actors)
// bounds, not anybody else's.

// InboxStats is how much one inbox holds.
type InboxStats struct {
	// Messages and Bytes count the inbox's messages and their stored
	// bytes.
	Messages int
	Bytes    int64
	// Last is the position of the newest message, 0 when the inbox is
	// empty. Positions only grow: a message queued later, to this inbox
	// or any other, has a larger one.
	Last uint64
}

// Page is what one InboxPage read.
type Page struct {
	// Messages are the page's messages, oldest first; Positions[i] is the
	// position of Messages[i], after which the next page starts.
	Messages  []*chatpb.Message
	Positions []uint64
	// More says that the inbox held messages after the page's last when
	// the page was read.
	More bool
	// Stats is the inbox's size when the page was read.
	Stats InboxStats
}

// Enqueued is what EnqueueKeyed did with a message it did not refuse.
type Enqueued struct {
	// Pos is the message's position in its inbox (see InboxStats.Last).
	Pos uint64
	// New says that the message was added now; false when it was there
	// already (a retry).
	New bool
}

// Usage is what a store holds, for metrics.
type Usage struct {
	// QueuedMessages and QueuedBytes count the private messages in every
	// inbox and their stored bytes: what Config.MaxQueuedBytes caps.
	QueuedMessages int64
	QueuedBytes    int64
	// StoreBytes is the store's own size: its file (Bolt), its tables
	// with their indexes (Postgres), the records it holds (Memory).
	StoreBytes int64
	// FreeBytes (Bolt) is the part of the file that holds nothing now:
	// bbolt reuses it, but gives it back to the system only when the file
	// is compacted (CompactBolt). 0 for the others.
	FreeBytes int64
}

// quota is the check an Enqueue passes before it stores anything.
type quota struct {
	sender, total int64 // Config.SenderMaxBytes, Config.MaxQueuedBytes; 0 is no cap
}

func newQuota(cfg Config) quota {
	return quota{sender: cfg.SenderMaxBytes, total: cfg.MaxQueuedBytes}
}

// check refuses a message of size bytes from a sender who has senderBytes
// queued for others (toSelf: the message is to the sender), when all
// inboxes hold totalBytes: the sender's cap first, then the store's.
func (q quota) check(size, senderBytes, totalBytes int64, toSelf bool) error {
	if !toSelf && q.sender > 0 && senderBytes+size > q.sender {
		return ErrSenderFull
	}
	if q.total > 0 && totalBytes+size > q.total {
		return ErrStorageFull
	}
	return nil
}

// pageFull reports whether a page of n messages holding bytes stored
// bytes is complete for limit and maxBytes (see Store.InboxPage: a limit
// under 1 reads one message, a maxBytes under 1 does not count bytes).
func pageFull(n int, bytes int64, limit, maxBytes int) bool {
	return n >= max(limit, 1) || (maxBytes > 0 && bytes >= int64(maxBytes))
}
