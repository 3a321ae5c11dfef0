package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// keyState is what a user's idempotency key says of a new request.
type keyState int

const (
	keyNew     keyState = iota // no key, or one not seen: go on
	keyPending                 // the same key is in flight: wait for its receipt
	keyDone                    // already accepted: answer the original receipt
)

// pruneEvery is how many accepted keys pass between sweeps of expired ones.
const pruneEvery = 256

// keyCache is one user's idempotency keys: accepted ones with their receipt
// (also kept in the store, so a retry after a restart is recognised) and
// ones still in flight, with the requests waiting on them. Owned by the user
// actor.
type keyCache struct {
	// set at construction
	deps *deps
	user string

	// owned by the user actor
	done    map[string]*chatpb.KeyRecord
	pending map[string][]waiter
	added   int
}

// waiter is a repeated request that waits for its key's first receipt.
type waiter struct {
	session *actor.PID
	ref     *string
}

func newKeyCache(d *deps, user string) *keyCache {
	k := &keyCache{deps: d, user: user}
	recs, err := d.store.Keys(user, k.now())
	if err != nil {
		d.logger.Error("loading idempotency keys", "user", user, "err", err)
	}
	for _, r := range recs {
		put(&k.done, r.Key, r)
	}
	return k
}

func (k *keyCache) lookup(key string) (*chatpb.KeyRecord, keyState) {
	if key == "" {
		return nil, keyNew
	}
	if r, ok := k.done[key]; ok && r.ExpiresUnixMs > k.now() {
		return r, keyDone
	}
	if _, ok := k.pending[key]; ok {
		return nil, keyPending
	}
	return nil, keyNew
}

func (k *keyCache) begin(key string) {
	if key != "" {
		put(&k.pending, key, nil)
	}
}

func (k *keyCache) wait(key string, session *actor.PID, ref *string) {
	put(&k.pending, key, append(k.pending[key], waiter{session: session, ref: ref}))
}

// finish records an accepted key and answers the requests that waited. The
// store has the key already: the actor that accepted the message wrote it
// (writeKeyed for a public message, Store.EnqueueKeyed for a private one).
func (k *keyCache) finish(ctx actor.Context, key string, sent *chatpb.Sent) {
	if key == "" {
		return
	}
	put(&k.done, key, &chatpb.KeyRecord{Key: key, Id: sent.Id, TsUnixMs: sent.TsUnixMs, Queued: sent.Queued,
		ExpiresUnixMs: k.now() + k.deps.cfg.KeyTTL.Milliseconds()})
	for _, w := range k.pending[key] {
		ctx.Send(w.session, &chatpb.Sent{Ref: w.ref, Id: sent.Id, TsUnixMs: sent.TsUnixMs, Queued: sent.Queued})
	}
	delete(k.pending, key)
	k.prune()
}

// keyRecord is what the store keeps of an accepted message under its
// sender's idempotency key; nil when there is no key.
func keyRecord(cfg Config, key string, m *chatpb.Message) *chatpb.KeyRecord {
	if key == "" {
		return nil
	}
	return &chatpb.KeyRecord{Key: key, Id: m.Id, TsUnixMs: m.TsUnixMs, Queued: m.Offline,
		ExpiresUnixMs: cfg.Clock().UnixMilli() + cfg.KeyTTL.Milliseconds()}
}

// writeKeyed makes an accepted message durable through write and, when it
// came with an idempotency key, the key's record right behind it; done
// follows both. The receipt waits for done, so a key is never lost while
// its receipt may have reached the client (a retry after a crash would
// otherwise be accepted twice). The store completes writes in order and
// batches them, so the key normally rides in the same commit. Private
// messages use Store.EnqueueKeyed instead, which writes the key in the
// message's own write and only if the store takes the message: a message
// the store refuses (a cap) must leave no key that would answer a retry
// with its receipt. A public message is never refused by the store.
func (d *deps) writeKeyed(write func(done func(error)), sender string, rec *chatpb.KeyRecord, done func(error)) {
	if rec == nil {
		write(done)
		return
	}
	var first error // set by the first callback, read by the second: the store calls them in order
	write(func(err error) { first = err })
	d.store.PutKey(sender, rec, func(err error) { done(errors.Join(first, err)) })
}

// abandon forgets a key whose request was refused, so a retry is judged
// afresh, and passes the refusal to the requests that waited.
func (k *keyCache) abandon(ctx actor.Context, key string, code chatpb.ErrorCode, msg string) {
	for _, w := range k.pending[key] {
		ctx.Send(w.session, refusal(w.ref, code, msg))
	}
	delete(k.pending, key)
}

func (k *keyCache) prune() {
	if k.added++; k.added%pruneEvery != 0 {
		return
	}
	now := k.now()
	for key, r := range k.done {
		if r.ExpiresUnixMs <= now {
			delete(k.done, key)
		}
	}
}

func (k *keyCache) now() int64 { return k.deps.cfg.Clock().UnixMilli() }
