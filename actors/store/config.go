package store

import "time"

// DefaultPublicHistory is how many public messages a store keeps when
// Config.PublicHistory is zero.
const DefaultPublicHistory = 1000

// Config tunes a store. The zero value is ready to use; each field says what
// zero means.
type Config struct {
	// PublicHistory is how many of the newest public messages are kept.
	// 0 means DefaultPublicHistory.
	PublicHistory int
	// Now is the clock used to drop expired idempotency keys when a key is
	// written, and by Memory to start its epochs. nil means time.Now.
	Now func() time.Time

	// OpenTimeout (Bolt) is how long OpenBolt waits for the file lock held
	// by another process before failing. 0 means 1 second.
	OpenTimeout time.Duration
	// MaxBatch (Bolt, Postgres) is the most writes committed in one
	// transaction; the rest wait for the next one, so that one commit never
	// grows without bound under a burst. 0 means 10,000.
	MaxBatch int
	// SkipCheck (Bolt) skips the page-by-page consistency check that
	// OpenBolt runs over the whole file. The check reads every page once,
	// which costs time on a large file; false (the default) runs it, so
	// that a damaged file stops the server at startup rather than later.
	SkipCheck bool
	// ObserveCommit (Bolt, Postgres), when set, is told the duration and
	// the number of writes of every successful commit, on the writer
	// goroutine; it must be quick (a metrics observation).
	ObserveCommit func(took time.Duration, writes int)
	// MaxQueuedBytes caps the stored bytes of the private messages in all
	// inboxes together, which stay until their recipients confirm them:
	// past it, Enqueue fails with ErrStorageFull, so that no input fills
	// the disk. 0 means no cap. Several Postgres stores sharing a database
	// should be given the same caps: each write checks its own.
	MaxQueuedBytes int64
	// SenderMaxBytes caps the stored bytes one sender has queued in other
	// users' inboxes and not yet seen delivered: past it, Enqueue fails
	// with ErrSenderFull, so that one sender cannot take the whole of
	// MaxQueuedBytes. 0 means no cap.
	SenderMaxBytes int64
	// QueryTimeout (Postgres) bounds each read and each attempt at a group
	// commit, so that an unreachable database fails them rather than
	// holding their callers. 0 means 5 seconds.
	QueryTimeout time.Duration
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.PublicHistory <= 0 {
		c.PublicHistory = DefaultPublicHistory
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = time.Second
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = 5 * time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 10_000
	}
	return c
}
