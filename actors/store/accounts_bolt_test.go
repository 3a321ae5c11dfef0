package store

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tests of what only the durable store promises about accounts.

func TestBoltAccountsSurviveReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	var clock atomic.Int64
	cfg := Config{Now: func() time.Time { return time.UnixMilli(clock.Load()) }}
	s, err := OpenBolt(path, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		must(t, func(done func(error)) { s.CreateAccount(account(name, "h"), done) })
	}
	for _, tok := range []struct {
		id, user string
		exp      int64
	}{{"a1", "alice", 1000}, {"a2", "alice", 1000}, {"a3", "alice", 100}, {"b1", "bob", 1000}} {
		must(t, func(done func(error)) { s.PutToken(token(tok.id, tok.user, tok.exp), "h", done) })
	}
	must(t, func(done func(error)) { s.DeleteToken("a1", done) })
	must(t, func(done func(error)) { s.SetDisabled("bob", true, done) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openBolt(t, path, cfg)
	if a, err := s.Account("bob"); err != nil || !a.Disabled {
		t.Fatalf("bob after reopen: %v, %v", a, err)
	}
	want(t, "alice's tokens after reopen", tokenIDs(t, s, "alice", 0), []string{"a2", "a3"})
	want(t, "bob's tokens after reopen", tokenIDs(t, s, "bob", 0), nil)
	if hasToken(t, s, "a1", 0) || hasToken(t, s, "a3", 100) || !hasToken(t, s, "a2", 100) {
		t.Fatal("after reopen: a revoked or expired token is readable, or a live one is not")
	}
	want(t, "users after reopen", sortedUsers(t, s), []string{"alice", "bob"})
}

// TestBoltAddsAccountsToAnOlderFile opens a file written before accounts
// existed (the layout of layout.go alone): it opens, keeps its data, and
// takes accounts.
func TestBoltAddsAccountsToAnOlderFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initLayout(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Put([]byte("carol"), []byte{})
	})
	if err = errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}

	s := openBolt(t, path, Config{})
	want(t, "users of the older file", sortedUsers(t, s), []string{"carol"})
	must(t, func(done func(error)) { s.CreateAccount(account("alice", "h"), done) })
	must(t, func(done func(error)) {
		s.PutToken(token("t", "alice", time.Now().Add(time.Hour).UnixMilli()), "h", done)
	})
	if !hasToken(t, s, "t", 0) {
		t.Fatal("the token written to an upgraded file is not readable")
	}
}
