package store

import (
	"errors"
	"testing"
	"time"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/chatpb"
)

// When the database goes away, writes fail through their callbacks and
// reads return errors, none of them ErrClosed; when it is back, the same
// store works again, without being reopened.
func TestPostgresOutage(t *testing.T) {
	srv := pgtest.Fresh(t) // this test stops its server: not the shared one
	s := openPostgres(t, srv.Schema(t), Config{QueryTimeout: 2 * time.Second})
	must(t, func(done func(error)) { s.Enqueue(dm("before", "bob"), done) })

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	writes := map[string]func(done func(error)){
		"AddUser":       func(done func(error)) { s.AddUser("carol", done) },
		"Enqueue":       func(done func(error)) { s.Enqueue(dm("during", "bob"), done) },
		"Ack":           func(done func(error)) { s.Ack("bob", []string{"before"}, done) },
		"AppendPublic":  func(done func(error)) { s.AppendPublic(pub("p"), done) },
		"PutKey":        func(done func(error)) { s.PutKey("bob", &chatpb.KeyRecord{Key: "k", ExpiresUnixMs: 1}, done) },
		"CreateAccount": func(done func(error)) { s.CreateAccount(account("dave", "h"), done) },
	}
	for name, w := range writes {
		if err := do(t, w); err == nil || errors.Is(err, ErrClosed) {
			t.Errorf("%s while the database is down: %v, want an error", name, err)
		} else if name == "Enqueue" {
			t.Logf("%s: %v", name, err)
		}
	}
	reads := map[string]func() error{
		"Inbox":     func() error { _, err := s.Inbox("bob"); return err },
		"Known":     func() error { _, err := s.Known("bob"); return err },
		"Recent":    func() error { _, err := s.Recent(); return err },
		"NextEpoch": func() error { _, err := s.NextEpoch(); return err },
		"Account":   func() error { _, err := s.Account("dave"); return err },
		"Ping":      func() error { return s.Ping(t.Context()) },
	}
	for name, r := range reads {
		if err := r(); err == nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrNotFound) {
			t.Errorf("%s while the database is down: %v, want an error", name, err)
		}
	}

	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	awaitWrite(t, func(done func(error)) { s.Enqueue(dm("after", "bob"), done) })
	want(t, "bob's inbox after the outage", inbox(t, s, "bob"), []string{"before", "after"})
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the outage: %v", err)
	}
	if _, err := s.NextEpoch(); err != nil {
		t.Fatalf("NextEpoch after the outage: %v", err)
	}
}

// awaitWrite makes a write again until it succeeds, within waitTimeout:
// the pool finds its connections dead and makes new ones as it goes.
func awaitWrite(t *testing.T, write func(done func(error))) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for tries := 1; ; tries++ {
		err := do(t, write)
		switch {
		case err == nil:
			t.Logf("the write succeeded at try %d", tries)
			return
		case time.Now().After(deadline):
			t.Fatalf("the store did not recover within %v: %v", waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A quick restart of the database costs no write: the first batch after it
// meets a pooled connection the server ended, which ran nothing, and is
// sent again on another; reads and Ping do the same.
func TestPostgresQuickRestartLosesNoWrite(t *testing.T) {
	srv := pgtest.Fresh(t)
	s := openPostgres(t, srv.Schema(t), Config{})
	must(t, func(done func(error)) { s.AddUser("alice", done) }) // the pool holds live connections
	if _, err := s.Known("alice"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	must(t, func(done func(error)) { s.AddUser("bob", done) })
	if !known(t, s, "bob") {
		t.Fatal("bob is not known after the write succeeded")
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
