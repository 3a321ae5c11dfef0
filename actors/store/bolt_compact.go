package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Compacting a bbolt file. bbolt reuses the pages that deleted data
// leaves free, but never gives them back to the system: a file that once
// held a flood of queued messages keeps its size after they are
// delivered (Usage.FreeBytes says how much of it is free). CompactBolt
// copies what the file holds into a new, dense file and puts it in the
// old one's place, on a stopped server: the copy needs the file's lock,
// which a running server holds.
//
// In order, so that a crash at any point leaves a usable store:
//
//  1. the file is opened, locked, and checked as OpenBolt checks it;
//  2. its contents are copied into PATH.compact (replacing a copy an
//     earlier run left), which is then compared with the original, key
//     by key, bucket sequences included, and its pages checked;
//  3. a hard link PATH.bak keeps the original;
//  4. PATH.compact is renamed over PATH (atomic) and the directory synced;
//  5. the new file is opened again as OpenBolt would, and only then is
//     PATH.bak removed (unless kept).
//
// A PATH.bak already there means an earlier run did not finish: the
// operator looks at it first, so CompactBolt refuses to run.

// compactTxBytes bounds the data one transaction of the copy writes, so
// that copying a large file does not build one huge transaction in memory.
const compactTxBytes = 64 << 20

// CompactResult is what CompactBolt did.
type CompactResult struct {
	// Before and After are the file's sizes, in bytes.
	Before, After int64
	// Backup is the original's path when it was kept, else "".
	Backup string
}

// CompactBolt compacts the bbolt file at path (see above). cfg's
// OpenTimeout bounds the wait for the file's lock and SkipCheck skips the
// page checks; keepBackup keeps the original as path+".bak". It fails,
// naming path and leaving it as it was, when the file is locked (a server
// runs on it), is not a chat store, or the copy differs.
func CompactBolt(path string, cfg Config, keepBackup bool) (CompactResult, error) {
	cfg = cfg.withDefaults()
	tmp, bak := path+".compact", path+".bak"
	if _, err := os.Lstat(bak); err == nil {
		return CompactResult{}, fmt.Errorf("store: %s exists, left by a compaction that did not finish: "+
			"keep whichever of it and %s is right, remove the other, and compact again", bak, path)
	}
	src, before, err := openForCompaction(path, cfg)
	if err != nil {
		return CompactResult{}, err
	}
	defer func() { _ = src.Close() }() // read, and held for its lock: nothing to flush
	if err := copyDense(src, tmp, cfg); err != nil {
		_ = os.Remove(tmp)
		return CompactResult{}, fmt.Errorf("store: compacting %s: %w", path, err)
	}
	if err := swapIn(path, tmp, bak); err != nil {
		return CompactResult{}, err
	}
	res := CompactResult{Before: before, Backup: bak}
	opened := cfg
	opened.SkipCheck = true // copyDense checked every page of these very bytes
	if err := verify(path, opened); err != nil {
		return res, fmt.Errorf("store: the compacted %s (the original is %s): %w", path, bak, err)
	}
	if info, err := os.Stat(path); err == nil {
		res.After = info.Size()
	}
	if !keepBackup {
		if err := os.Remove(bak); err != nil {
			return res, fmt.Errorf("store: compacted %s, but removing %s: %w", path, bak, err)
		}
		res.Backup = ""
	}
	return res, nil
}

// openForCompaction checks the file at path as OpenBolt does, then opens
// it for writing, which takes its lock for as long as it is open (no
// server can open it meanwhile), and returns it with its size.
func openForCompaction(path string, cfg Config) (*bolt.DB, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	if err := verify(path, cfg); err != nil {
		return nil, 0, err
	}
	db, err := openDB(path, cfg, false)
	if err != nil {
		return nil, 0, openError(path, cfg, err)
	}
	return db, info.Size(), nil
}

// copyDense copies src into a new file at tmp, filled page by page, and
// checks that the copy holds exactly what src does.
func copyDense(src *bolt.DB, tmp string, cfg Config) error {
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := openDB(tmp, cfg, false)
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, src, compactTxBytes)
	if err == nil {
		err = sameContents(src, dst)
	}
	if err == nil {
		err = dst.View(checkPages)
	}
	return errors.Join(err, dst.Close())
}

// swapIn keeps the original at bak and moves the copy at tmp into its
// place, durably.
func swapIn(path, tmp, bak string) error {
	if err := os.Link(path, bak); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: keeping %s as %s: %w", path, bak, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(bak)
		return fmt.Errorf("store: putting the compacted copy in place of %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("store: compacted %s (the original is %s), but syncing its directory: %w", path, bak, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// sameContents checks that a and b hold the same buckets, keys, values
// and bucket sequences.
func sameContents(a, b *bolt.DB) error {
	return a.View(func(ta *bolt.Tx) error {
		return b.View(func(tb *bolt.Tx) error {
			return sameCursors(ta.Cursor(), tb.Cursor(), func(name []byte) (*bolt.Bucket, *bolt.Bucket) {
				return ta.Bucket(name), tb.Bucket(name)
			}, "")
		})
	})
}

// sameBuckets compares two buckets, nested ones included.
func sameBuckets(a, b *bolt.Bucket, where string) error {
	if a.Sequence() != b.Sequence() {
		return fmt.Errorf("bucket %s: sequence %d in the copy, %d in the original", where, b.Sequence(), a.Sequence())
	}
	return sameCursors(a.Cursor(), b.Cursor(), func(name []byte) (*bolt.Bucket, *bolt.Bucket) {
		return a.Bucket(name), b.Bucket(name)
	}, where)
}

// sameCursors walks two cursors in step; nested opens the nested buckets
// of the key they are at. A nil value is a nested bucket or an empty
// value (bbolt does not tell them apart there): nested says which.
func sameCursors(ca, cb *bolt.Cursor, nested func([]byte) (*bolt.Bucket, *bolt.Bucket), where string) error {
	ka, va := ca.First()
	kb, vb := cb.First()
	for ; ka != nil || kb != nil; ka, va, kb, vb = next2(ca, cb) {
		if !bytes.Equal(ka, kb) || !bytes.Equal(va, vb) {
			return fmt.Errorf("bucket %s: the copy has key %q where the original has %q", where, kb, ka)
		}
		if va != nil && vb != nil {
			continue
		}
		ba, bb := nested(ka)
		if (ba == nil) != (bb == nil) {
			return fmt.Errorf("bucket %s: key %q is a bucket in one file only", where, ka)
		}
		if ba == nil {
			continue
		}
		if err := sameBuckets(ba, bb, where+"/"+string(ka)); err != nil {
			return err
		}
	}
	return nil
}

// next2 moves both cursors on.
func next2(ca, cb *bolt.Cursor) (ka, va, kb, vb []byte) {
	ka, va = ca.Next()
	kb, vb = cb.Next()
	return ka, va, kb, vb
}
