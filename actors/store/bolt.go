package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// Bolt is the durable Store, one bbolt file. Reads are bbolt read
// transactions on the caller's goroutine. Writes are queued and committed by
// one writer goroutine in group commits: everything queued when a commit
// starts goes into one transaction and one commit (see commit.go).
// A read sees a write once the write's done callback has been called.
type Bolt struct {
	// set at construction
	db   *bolt.DB
	path string
	cfg  Config
	log  *slog.Logger

	// the write queue and its writer goroutine (queue.go, commit.go)
	*writeQueue[func(tx *bolt.Tx) error]

	// commits counts committed transactions; written by the writer, read
	// by tests and benchmarks.
	commits atomic.Uint64

	// set once by Close
	closeOnce sync.Once
	closeErr  error
}

// ErrLocked is (wrapped in) the error of OpenBolt and CompactBolt when
// another process holds the file's lock past Config.OpenTimeout: a server
// running on it.
var ErrLocked = berrors.ErrTimeout

// OpenBolt opens the store in the bbolt file at path, creating the file and
// its parent directories if they do not exist. It fails, with an error that
// names path, when the file cannot be read, is locked by another process
// for longer than cfg.OpenTimeout, is not a bbolt file, fails the
// consistency check (unless cfg.SkipCheck), or is a bbolt file that this
// package did not write: an existing file is never silently replaced by a
// fresh store. logger receives write failures and commit statistics (at
// debug level); nil discards them.
func OpenBolt(path string, cfg Config, logger *slog.Logger) (*Bolt, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := openFile(path, cfg)
	if err != nil {
		return nil, err
	}
	s := &Bolt{
		db: db, path: path, cfg: cfg, log: logger,
		writeQueue: newWriteQueue[func(tx *bolt.Tx) error](cfg.MaxBatch),
	}
	go s.run(s.commit)
	return s, nil
}

// Path returns the file the store was opened on.
func (s *Bolt) Path() string { return s.path }

// NextEpoch implements Store. The new value is committed (in the next group
// commit) before NextEpoch returns. It must not be called from a done
// callback: those run on the writer goroutine, which it waits for.
func (s *Bolt) NextEpoch() (uint64, error) {
	var epoch uint64 // written by the writer, read after res: no race
	res := make(chan error, 1)
	s.submit(op{
		apply: func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketMeta)
			epoch = decodeU64(b.Get(keyEpoch)) + 1
			return b.Put(keyEpoch, encodeU64(epoch))
		},
		done: func(err error) { res <- err },
	})
	if err := <-res; err != nil {
		return 0, err
	}
	return epoch, nil
}

// Users implements Store.
func (s *Bolt) Users() ([]string, error) {
	var names []string
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, _ []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	return names, err
}

// Known implements Store.
func (s *Bolt) Known(name string) (bool, error) {
	key := []byte(name)
	var known bool
	err := s.view(func(tx *bolt.Tx) error {
		// A seek, not Get: names are stored with empty values, and Get does
		// not promise a non-nil slice for those.
		k, _ := tx.Bucket(bucketUsers).Cursor().Seek(key)
		known = bytes.Equal(k, key)
		return nil
	})
	return known, err
}

// AddUser implements Store.
func (s *Bolt) AddUser(name string, done func(error)) {
	if name == "" {
		s.submit(op{err: errEmptyUser, done: done})
		return
	}
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).Put([]byte(name), []byte{})
	}})
}

// Recent implements Store.
func (s *Bolt) Recent() ([]*chatpb.Message, error) {
	var msgs []*chatpb.Message
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPublic).Cursor()
		// Walk back from the newest, then put the page oldest first.
		for k, v := c.Last(); k != nil && len(msgs) < s.cfg.PublicHistory; k, v = c.Prev() {
			m, err := s.decodeMessage(v, "public history")
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		return nil
	})
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, err
}

// AppendPublic implements Store.
func (s *Bolt) AppendPublic(m *chatpb.Message, done func(error)) {
	data, err := encodeMessage(m, chatpb.Kind_KIND_PUBLIC)
	if err != nil {
		s.submit(op{err: err, done: done})
		return
	}
	limit := uint64(s.cfg.PublicHistory)
	s.submit(op{done: done, apply: func(tx *bolt.Tx) error {
		return appendPublic(tx, data, limit)
	}})
}

// Keys implements Store.
func (s *Bolt) Keys(user string, nowMs int64) ([]*chatpb.KeyRecord, error) {
	var recs []*chatpb.KeyRecord
	err := s.view(func(tx *bolt.Tx) error {
		b := userBucket(tx, bucketKeys, user)
		if b == nil {
			return nil
		}
		return forPrefix(b, prefixKey, func(_, v []byte) error {
			r := new(chatpb.KeyRecord)
			if err := proto.Unmarshal(v, r); err != nil {
				return fmt.Errorf("store: %s: decoding a key of %s: %w", s.path, user, err)
			}
			if r.ExpiresUnixMs > nowMs {
				recs = append(recs, r)
			}
			return nil
		})
	})
	return recs, err
}

// PutKey implements Store. Keys of user that have expired by the store's
// clock are dropped in the same transaction.
func (s *Bolt) PutKey(user string, r *chatpb.KeyRecord, done func(error)) {
	if err := validKey(user, r); err != nil {
		s.submit(op{err: err, done: done})
		return
	}
	apply, err := s.keyWrite(user, r)
	s.submit(op{err: err, done: done, apply: apply})
}

// keyWrite encodes r, a checked key record of user, and returns what
// stores it in a transaction, with the pruning PutKey does.
func (s *Bolt) keyWrite(user string, r *chatpb.KeyRecord) (func(tx *bolt.Tx) error, error) {
	data, err := proto.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("store: encoding key %q: %w", r.Key, err)
	}
	key, exp, nowMs := r.Key, r.ExpiresUnixMs, s.cfg.Now().UnixMilli()
	return func(tx *bolt.Tx) error { return putKey(tx, user, key, exp, data, nowMs) }, nil
}

// Close implements Store: it refuses new writes, waits for the writer to
// commit everything queued before, then closes the file.
func (s *Bolt) Close() error {
	s.closeOnce.Do(func() {
		s.close()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: closing %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// view runs a read transaction, reporting a closed database as ErrClosed.
func (s *Bolt) view(fn func(tx *bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// decodeMessage decodes a stored message; where names it in the error.
func (s *Bolt) decodeMessage(v []byte, where string) (*chatpb.Message, error) {
	m := new(chatpb.Message)
	if err := proto.Unmarshal(v, m); err != nil {
		return nil, fmt.Errorf("store: %s: decoding a message in the %s: %w", s.path, where, err)
	}
	return m, nil
}

// encodeMessage checks m and encodes it. Encoding on the caller's goroutine
// copies m, so the caller may change it as soon as the write method returns.
func encodeMessage(m *chatpb.Message, k chatpb.Kind) ([]byte, error) {
	if err := validMessage(m, k); err != nil {
		return nil, err
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("store: encoding message %s: %w", m.Id, err)
	}
	return data, nil
}

// openFile opens the bbolt file at path. An existing file is first opened
// read-only and checked, so that nothing is written to a file that is then
// refused; only then is it opened for writing.
func openFile(path string, cfg Config) (*bolt.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: creating the directory of %s: %w", path, err)
	}
	if info, err := os.Stat(path); err == nil && (info.Size() > 0 || info.IsDir()) {
		if err := verify(path, cfg); err != nil {
			return nil, err
		}
	}
	db, err := openDB(path, cfg, false)
	if err != nil {
		return nil, openError(path, cfg, err)
	}
	if err := safely(func() error { return db.Update(initWithAccounts) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: %s is not a usable chat store: %w", path, err)
	}
	return db, nil
}

// verify opens an existing file read-only and checks its layout and, unless
// cfg.SkipCheck, every page.
func verify(path string, cfg Config) error {
	db, err := openDB(path, cfg, true)
	if err != nil {
		return openError(path, cfg, err)
	}
	err = safely(func() error {
		return db.View(func(tx *bolt.Tx) error {
			if err := checkLayout(tx); err != nil || cfg.SkipCheck {
				return err
			}
			return checkPages(tx)
		})
	})
	if err = errors.Join(err, db.Close()); err != nil {
		return fmt.Errorf("store: %s is not a usable chat store: %w", path, err)
	}
	return nil
}

// openDB opens the file with bbolt, turning a panic on a damaged file into
// an error. (After such a panic the file stays mapped and locked until the
// process exits; verify makes it unlikely by catching damage read-only, where
// bbolt reads less at open.)
func openDB(path string, cfg Config, readOnly bool) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", berrors.ErrInvalid, r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      cfg.OpenTimeout,
		ReadOnly:     readOnly,
		FreelistType: bolt.FreelistMapType,
	})
}

// safely runs fn, turning a panic into an error: bbolt panics on some
// damaged pages, and a transaction that panics is rolled back on the way
// out, so the database can still be closed.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the file panicked: %v", r)
		}
	}()
	return fn()
}

// openError explains why bbolt could not open path.
func openError(path string, cfg Config, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("store: %s is locked by another process (waited %v): %w", path, cfg.OpenTimeout, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("store: %s is corrupt or not a bbolt file: %w", path, err)
	}
	return fmt.Errorf("store: opening %s: %w", path, err)
}
