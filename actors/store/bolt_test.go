package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Tests of what only the durable store promises.

func TestBoltReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	reopenKeepsEverything(t, func(cfg Config) (Store, error) { return OpenBolt(path, cfg, nil) })
}

func TestBoltCreatesParentDirectories(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "chat.db")
	s := openBolt(t, path, Config{})
	must(t, func(done func(error)) { s.AddUser("alice", done) })
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// wantOpenError checks that OpenBolt on path fails naming path, and that it
// left the file as it was. It returns the error for the callers that check
// which one it was; the others discard it.
func wantOpenError(t *testing.T, path string, cfg Config) error {
	t.Helper()
	before, _ := os.ReadFile(path)
	s, err := OpenBolt(path, cfg, nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("OpenBolt succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name %s", err, path)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the failed open changed the file")
	}
	t.Logf("refused: %v", err)
	return err
}

func TestBoltRefusesGarbage(t *testing.T) {
	t.Parallel()
	for _, size := range []int{5, 4096, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chat.db")
			garbage := bytes.Repeat([]byte("not a database! "), size/16+1)[:size]
			if err := os.WriteFile(path, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
			_ = wantOpenError(t, path, Config{})
		})
	}
}

func TestBoltRefusesDamagedPages(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenBolt(path, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		s.Enqueue(dm(fmt.Sprint(i), fmt.Sprint("user", i%7)), nil)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Keep the two meta pages, so bbolt opens the file, and overwrite every
	// page after them.
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	damage(t, path, int64(2*pageSize), int(info.Size())-2*pageSize)
	_ = wantOpenError(t, path, Config{})
	// The failed open must not have left the file locked.
	cfg := Config{OpenTimeout: 50 * time.Millisecond}
	if err := wantOpenError(t, path, cfg); errors.Is(err, berrors.ErrTimeout) {
		t.Fatalf("second open: %v", err)
	}
}

func TestBoltCheckFindsDamagedBucket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenBolt(path, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		s.Enqueue(dm(fmt.Sprint(i), "bob"), nil)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Damage the root page of bob's inbox only: bbolt opens the file and the
	// top-level buckets read fine; only the check finds the damage.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var page uint64
	_ = db.View(func(tx *bolt.Tx) error {
		page = uint64(tx.Bucket(bucketInbox).Bucket([]byte("bob")).RootPage())
		return nil
	})
	pageSize := db.Info().PageSize
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if page == 0 {
		t.Fatal("bob's inbox is inline; the test needs it on its own page")
	}
	damage(t, path, int64(page)*int64(pageSize), pageSize)
	err = wantOpenError(t, path, Config{})
	if !strings.Contains(err.Error(), "consistency check") {
		t.Fatalf("error %q does not come from the check", err)
	}
}

// damage overwrites n bytes of the file at path from off.
func damage(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, n), off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBoltRefusesAnotherProgramsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("their-data"))
		return err
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	_ = wantOpenError(t, path, Config{})
}

func TestBoltRefusesADirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := OpenBolt(path, Config{}, nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("OpenBolt on a directory succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name %s", err, path)
	}
}

func TestBoltLockedFileFailsAfterTimeout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	openBolt(t, path, Config{})
	err := wantOpenError(t, path, Config{OpenTimeout: 50 * time.Millisecond})
	if !errors.Is(err, berrors.ErrTimeout) {
		t.Fatalf("error %v is not a lock timeout", err)
	}
}

// blockWriter submits a write whose callback holds the writer goroutine
// until the returned release is called, and returns once the writer is
// held, so that the writes submitted next queue up behind it.
func blockWriter(t *testing.T, s Store) (release func()) {
	t.Helper()
	held, unblock := make(chan struct{}), make(chan struct{})
	s.AddUser("blocker", func(error) {
		close(held)
		<-unblock
	})
	select {
	case <-held:
	case <-time.After(waitTimeout):
		t.Fatal("the writer never ran the blocking callback")
	}
	return func() { close(unblock) }
}

func TestBoltGroupCommit(t *testing.T) {
	t.Parallel()
	s := openBolt(t, filepath.Join(t.TempDir(), "chat.db"), Config{})
	release := blockWriter(t, s)
	// The writer is busy: these must all return without waiting for it.
	var log ordered
	for i := range 500 {
		write(s, i, log.done(t, i))
	}
	release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want(t, "callback order", log.calls, seq(500))
	if n := s.commits.Load(); n != 2 {
		t.Fatalf("%d commits for the blocker and 500 queued writes, want 2", n)
	}
}

func TestBoltMaxBatch(t *testing.T) {
	t.Parallel()
	s := openBolt(t, filepath.Join(t.TempDir(), "chat.db"), Config{MaxBatch: 10})
	release := blockWriter(t, s)
	var log ordered
	for i := range 95 {
		s.Enqueue(dm(fmt.Sprint(i), "bob"), log.done(t, i))
	}
	release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want(t, "callback order", log.calls, seq(95))
	if n := s.commits.Load(); n != 1+10 {
		t.Fatalf("%d commits, want 1 + 10 batches of at most 10", n)
	}
}

func TestBoltFailedWriteFailsAlone(t *testing.T) {
	t.Parallel()
	s := openBolt(t, filepath.Join(t.TempDir(), "chat.db"), Config{})
	release := blockWriter(t, s)
	errs := make(chan error, 3)
	report := func(err error) { errs <- err }
	s.Enqueue(dm("a", "bob"), report)
	s.AddUser(strings.Repeat("x", bolt.MaxKeySize+1), report) // bbolt refuses the key
	s.Enqueue(dm("b", "bob"), report)
	release()
	got := []error{<-errs, <-errs, <-errs}
	if got[0] != nil || got[1] == nil || got[2] != nil {
		t.Fatalf("callbacks got %v, want only the second to fail", got)
	}
	want(t, "inbox", inbox(t, s, "bob"), []string{"a", "b"})
	if users := sortedUsers(t, s); len(users) != 1 || users[0] != "blocker" {
		t.Fatalf("users = %d names, want only the blocker", len(users))
	}
	if n := s.commits.Load(); n != 2 {
		t.Fatalf("%d commits, want 2 (a failed attempt is not a commit)", n)
	}
}

func TestBoltCallbackAfterDataIsOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "chat.db")
	s := openBolt(t, path, Config{})
	release := blockWriter(t, s)
	const n = 5
	batch := make([]string, n)
	results := make(chan error, n)
	for i := range n {
		batch[i] = fmt.Sprint("m", i)
		s.Enqueue(dm(batch[i], "bob"), func(err error) {
			if err == nil {
				err = inboxOfCopy(path, filepath.Join(dir, fmt.Sprint("copy", i, ".db")), batch)
			}
			results <- err
		})
	}
	release()
	for range n {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
}

// inboxOfCopy copies the file at path, as a crash right now would leave it,
// opens the copy and checks that bob's inbox holds want.
func inboxOfCopy(path, copyPath string, want []string) (err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		return err
	}
	s, err := OpenBolt(copyPath, Config{}, nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	msgs, err := s.Inbox("bob")
	if err != nil {
		return err
	}
	if got := ids(msgs); !slices.Equal(got, want) {
		return fmt.Errorf("reopened copy holds %v in a callback, want the whole batch %v", got, want)
	}
	return nil
}

func TestBoltCloseDrainsQueue(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenBolt(path, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var log ordered
	for i := range n {
		s.Enqueue(dm(fmt.Sprint(i), "bob"), log.done(t, i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want(t, "callback order", log.calls, seq(n))
	s = openBolt(t, path, Config{})
	if got := inbox(t, s, "bob"); len(got) != n || got[n-1] != fmt.Sprint(n-1) {
		t.Fatalf("reopened inbox holds %d messages", len(got))
	}
}
