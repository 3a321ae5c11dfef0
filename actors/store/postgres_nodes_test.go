package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/chatpb"
)

// Several nodes share one database: here, several Postgres stores on one
// schema, each with its own pool and writer, as separate processes would
// have.

// twoNodes opens two stores on one fresh schema and returns them with its
// URL.
func twoNodes(t *testing.T, cfg Config) (a, b *Postgres, url string) {
	t.Helper()
	url = pgtest.Shared(t).Schema(t)
	return openPostgres(t, url, cfg), openPostgres(t, url, cfg), url
}

func TestPostgresNodesNeverShareAnEpoch(t *testing.T) {
	a, b, _ := twoNodes(t, Config{})
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		node := []*Postgres{a, b}[i%2]
		wg.Go(func() {
			for range 20 {
				e, err := node.NextEpoch()
				mu.Lock()
				if err != nil || seen[e] {
					t.Errorf("NextEpoch = %d, %v (seen before: %v)", e, err, seen[e])
				}
				seen[e] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestPostgresNodesRaceToCreateAnAccount(t *testing.T) {
	a, b, _ := twoNodes(t, Config{})
	const racers = 16
	results := make(chan error, racers)
	for i := range racers {
		node := []*Postgres{a, b}[i%2]
		node.CreateAccount(account("alice", fmt.Sprint("h", i)), func(err error) { results <- err })
	}
	wins := 0
	for range racers {
		switch err := <-results; {
		case err == nil:
			wins++
		case !errors.Is(err, ErrExists):
			t.Fatalf("a create failed otherwise: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creates won, want 1", wins)
	}
}

// A write one node has confirmed is what the other reads.
func TestPostgresNodesReadEachOthersWrites(t *testing.T) {
	a, b, _ := twoNodes(t, Config{})
	for i := range 3 {
		must(t, func(done func(error)) { a.Enqueue(dm(fmt.Sprint("a", i), "bob"), done) })
		must(t, func(done func(error)) { b.Enqueue(dm(fmt.Sprint("b", i), "bob"), done) })
	}
	want(t, "bob's inbox on b", inbox(t, b, "bob"), []string{"a0", "b0", "a1", "b1", "a2", "b2"})
	must(t, func(done func(error)) { b.Ack("bob", []string{"a0", "b1"}, done) })
	want(t, "bob's inbox on a", inbox(t, a, "bob"), []string{"b0", "a1", "a2", "b2"})
	must(t, func(done func(error)) { a.AddUser("carol", done) })
	if !known(t, b, "carol") {
		t.Fatal("b does not know the user a added")
	}
}

// Appenders on several nodes keep the history at its limit: none trims
// what another keeps, and what one leaves the next append trims.
func TestPostgresNodesTrimTheHistory(t *testing.T) {
	const limit, each = 5, 100
	a, b, url := twoNodes(t, Config{PublicHistory: limit})
	var wg sync.WaitGroup
	for n, node := range []*Postgres{a, b} {
		wg.Go(func() { // one append at a time: many transactions to interleave
			for i := range each {
				if err := appendAndWait(node, pub(fmt.Sprint(n, "-", i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := recent(t, a); len(got) != limit {
		t.Fatalf("history after concurrent appends: %v, want %d messages", got, limit)
	}
	must(t, func(done func(error)) { b.AppendPublic(pub("last"), done) })
	if got := recent(t, a); got[limit-1] != "last" {
		t.Fatalf("history = %v, want the last append last", got)
	}
	if n := sqlInt(t, url, "SELECT count(*) FROM public_history"); n != limit {
		t.Fatalf("%d public messages stored after a lone append, want %d", n, limit)
	}
}

// appendAndWait appends m and waits for its callback; for goroutines other
// than the test's, which must not call t.Fatal.
func appendAndWait(s Store, m *chatpb.Message) error {
	done := make(chan error, 1)
	s.AppendPublic(m, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-time.After(waitTimeout):
		return fmt.Errorf("append %s: no callback within %v", m.Id, waitTimeout)
	}
}

// A password change that meets a token being issued on another node waits
// for it, and deletes it: no token verified against the old password
// outlives the change. The token's transaction is held open here, with the
// store's own statement, while the change runs.
func TestPostgresPasswordChangeRevokesATokenBeingIssued(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	s := openPostgres(t, url, Config{})
	must(t, func(done func(error)) { s.CreateAccount(account("alice", "old"), done) })

	tx := beginTx(t, url)
	var found, issued bool
	far := time.Now().Add(time.Hour).UnixMilli()
	err := tx.QueryRow(t.Context(), putTokenSQL, "t1", "alice", int64(1), far, "old", int64(0), pruneLimit).Scan(&found, &issued)
	if err != nil || !issued {
		t.Fatalf("issuing in the held transaction: %v, %v", issued, err)
	}
	changed := make(chan error, 1)
	s.SetPassword(PasswordChange{Name: "alice", Hash: "new"}, func(err error) { changed <- err })
	awaitLockWait(t, url)
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-changed; err != nil {
		t.Fatal(err)
	}
	want(t, "alice's tokens after the change", tokenIDs(t, s, "alice", 0), nil)
}

// A token issued while a password change is being made on another node
// waits for it, then finds the new password: ErrStale, and no token.
func TestPostgresTokenIssuedDuringAPasswordChangeIsStale(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	s := openPostgres(t, url, Config{})
	must(t, func(done func(error)) { s.CreateAccount(account("alice", "old"), done) })

	tx := beginTx(t, url)
	if _, err := tx.Exec(t.Context(), lockAccountSQL, "alice"); err != nil {
		t.Fatal(err)
	}
	var found, made bool
	if err := tx.QueryRow(t.Context(), setPasswordSQL, "alice", "new", "", "").Scan(&found, &made); err != nil || !made {
		t.Fatalf("changing in the held transaction: %v, %v", made, err)
	}
	issued := make(chan error, 1)
	s.PutToken(token("t1", "alice", time.Now().Add(time.Hour).UnixMilli()), "old", func(err error) { issued <- err })
	awaitLockWait(t, url)
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-issued; !errors.Is(err, ErrStale) {
		t.Fatalf("a token verified against the old password: %v, want ErrStale", err)
	}
	want(t, "alice's tokens", tokenIDs(t, s, "alice", 0), nil)
}

// beginTx opens a transaction on url, rolled back at cleanup unless
// committed.
func beginTx(t *testing.T, url string) pgx.Tx {
	t.Helper()
	tx, err := sqlConn(t, url).Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// awaitLockWait polls until some session of the server waits for a lock:
// the store's writer, blocked by the test's held transaction.
func awaitLockWait(t *testing.T, url string) {
	t.Helper()
	conn := sqlConn(t, url)
	deadline := time.Now().Add(waitTimeout)
	for {
		var waiting int
		err := conn.QueryRow(t.Context(),
			"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").Scan(&waiting)
		switch {
		case err != nil:
			t.Fatal(err)
		case waiting > 0:
			return
		case time.Now().After(deadline):
			t.Fatal("the store's write never waited for the held transaction")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
