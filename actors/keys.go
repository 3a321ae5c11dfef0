package actors

import (
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
	k := &keyCache{deps: d, user: user, done: make(map[string]*chatpb.KeyRecord), pending: make(map[string][]waiter)}
	recs, err := d.store.Keys(user, k.now())
	if err != nil {
		d.logger.Error("loading idempotency keys", "user", user, "err", err)
	}
	for _, r := range recs {
		k.done[r.Key] = r
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
		k.pending[key] = nil
	}
}

func (k *keyCache) wait(key string, session *actor.PID, ref *string) {
	k.pending[key] = append(k.pending[key], waiter{session: session, ref: ref})
}

// finish records an accepted key and answers the requests that waited.
func (k *keyCache) finish(ctx actor.Context, key string, sent *chatpb.Sent) {
	if key == "" {
		return
	}
	rec := &chatpb.KeyRecord{Key: key, Id: sent.Id, TsUnixMs: sent.TsUnixMs, Queued: sent.Queued,
		ExpiresUnixMs: k.now() + k.deps.cfg.KeyTTL.Milliseconds()}
	k.done[key] = rec
	for _, w := range k.pending[key] {
		ctx.Send(w.session, &chatpb.Sent{Ref: w.ref, Id: sent.Id, TsUnixMs: sent.TsUnixMs, Queued: sent.Queued})
	}
	delete(k.pending, key)
	user := k.user
	k.deps.store.PutKey(user, rec, func(err error) {
		if err != nil {
			k.deps.logger.Error("storing an idempotency key", "user", user, "err", err)
		}
	})
	k.prune()
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
