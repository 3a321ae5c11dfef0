package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/chatpb"
)

// Tests of what only the PostgreSQL store promises. They run against a
// throwaway server (internal/pgtest), shared by the test binary, each in a
// schema of its own; without PostgreSQL installed they are skipped.

// TestMain closes the shared PostgreSQL server, if a test started one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openPostgres opens a Postgres on url, closed at cleanup.
func openPostgres(t testing.TB, url string, cfg Config) *Postgres {
	t.Helper()
	s, err := OpenPostgres(t.Context(), url, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sqlConn connects to url directly, for what the store does not show
// (what is stored, how the schema is); closed at cleanup.
func sqlConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// sqlExec runs statements on url.
func sqlExec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	if _, err := sqlConn(t, url).Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// sqlInt runs a query answering one number.
func sqlInt(t testing.TB, url, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := sqlConn(t, url).QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestPostgresReopenKeepsEverything(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	reopenKeepsEverything(t, func(cfg Config) (Store, error) { return OpenPostgres(t.Context(), url, cfg, nil) })
}

// Epochs start at the clock, so that ids made from them do not repeat
// those of a store the database replaces (Bolt's count from 1).
func TestPostgresEpochsStartAtTheClock(t *testing.T) {
	before := time.Now().UnixMilli()
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{})
	e, err := s.NextEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if int64(e) < before-time.Minute.Milliseconds() {
		t.Fatalf("first epoch %d, the clock was at %d ms", e, before)
	}
}

// Keys are the clients' strings: any of them is stored, also one with a
// NUL character, which PostgreSQL's text refuses.
func TestPostgresKeysTakeAnyString(t *testing.T) {
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{})
	key := "nul\x00key"
	r := &chatpb.KeyRecord{Key: key, Id: "1", ExpiresUnixMs: time.Now().Add(time.Hour).UnixMilli()}
	must(t, func(done func(error)) { s.PutKey("bob", r, done) })
	want(t, "bob's keys", keyNames(t, s, "bob", 0), []string{key})
}

func TestPostgresGroupCommit(t *testing.T) {
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{})
	release := blockWriter(t, s)
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

func TestPostgresMaxBatch(t *testing.T) {
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{MaxBatch: 10})
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

// A full batch is one commit, well within the query timeout: the
// pipeline neither stalls nor costs more per write than its own insert
// (the history is trimmed once per batch).
func TestPostgresFullBatch(t *testing.T) {
	const n = 10_000
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{MaxBatch: n})
	release := blockWriter(t, s)
	var log ordered
	for i := range n {
		s.AppendPublic(pub(fmt.Sprint(i)), log.done(t, i))
	}
	start := time.Now()
	release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d appends committed in %v", n, time.Since(start))
	want(t, "callback order", log.calls, seq(n))
	if c := s.commits.Load(); c != 2 {
		t.Fatalf("%d commits for the blocker and a full batch, want 2", c)
	}
}

// A write the server refuses fails alone; the others of its batch are
// committed once each: the failed attempt left nothing behind (public
// messages, which are not idempotent, show it).
func TestPostgresFailedWriteFailsAlone(t *testing.T) {
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{})
	release := blockWriter(t, s)
	errs := make(chan error, 4)
	report := func(err error) { errs <- err }
	s.AppendPublic(pub("p1"), report)
	s.AddUser(randomName(t, 20_000), report) // too long for the index: SQLSTATE 54000
	s.AppendPublic(pub("p2"), report)
	s.Enqueue(dm("a", "bob"), report)
	release()
	got := []error{<-errs, <-errs, <-errs, <-errs}
	if got[0] != nil || got[1] == nil || got[2] != nil || got[3] != nil {
		t.Fatalf("callbacks got %v, want only the second to fail", got)
	}
	t.Logf("refused: %v", got[1])
	want(t, "history", recent(t, s), []string{"p1", "p2"})
	want(t, "inbox", inbox(t, s, "bob"), []string{"a"})
	want(t, "users", sortedUsers(t, s), []string{"blocker"})
	if n := s.commits.Load(); n != 2 {
		t.Fatalf("%d commits, want 2 (a failed attempt is not a commit)", n)
	}
}

// randomName is n hex digits, which do not compress.
func randomName(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Nodes starting at once apply each migration once.
func TestPostgresMigrationsAtOnce(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			s, err := OpenPostgres(t.Context(), url, Config{}, nil)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if n := sqlInt(t, url, "SELECT count(*) FROM schema_migrations"); n != len(all) {
		t.Fatalf("schema_migrations holds %d rows for %d migrations", n, len(all))
	}
}

// A database whose schema a newer program wrote is refused, not misread.
func TestPostgresRefusesANewerSchema(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	if err := openPostgres(t, url, Config{}).Close(); err != nil {
		t.Fatal(err)
	}
	sqlExec(t, url, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future.sql')")
	_, err := OpenPostgres(t.Context(), url, Config{}, nil)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v", err)
	}
	t.Logf("refused: %v", err)
}

// A schema holding another program's tables is refused and left as it
// was.
func TestPostgresRefusesAnotherProgramsTables(t *testing.T) {
	url := pgtest.Shared(t).Schema(t)
	sqlExec(t, url, "CREATE TABLE users (theirs int)")
	_, err := OpenPostgres(t.Context(), url, Config{}, nil)
	if err == nil {
		t.Fatal("OpenPostgres succeeded over another program's users table")
	}
	t.Logf("refused: %v", err)
	if n := sqlInt(t, url, "SELECT count(*) FROM schema_migrations"); n != 0 {
		t.Fatalf("the refused migration was recorded (%d rows)", n)
	}
	if n := sqlInt(t, url, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'inbox'"); n != 0 {
		t.Fatal("the refused migration left tables behind")
	}
}

// A bad URL is refused without connecting, and an unreachable database
// within the caller's deadline; neither error shows the password.
func TestPostgresOpenErrors(t *testing.T) {
	if err := CheckPostgresURL("postgres://chat:s3cret@127.0.0.1:notaport/chat"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a bad port: %v", err)
	}
	if err := CheckPostgresURL("postgres://chat:s3cret@127.0.0.1:5432/chat?sslmode=disable"); err != nil {
		t.Fatalf("a good URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := OpenPostgres(ctx, "postgres://chat:s3cret@127.0.0.1:1/chat?sslmode=disable", Config{}, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1/chat") {
		t.Fatalf("an unreachable database: %v", err)
	}
	t.Logf("refused: %v", err)
}

func TestPostgresPing(t *testing.T) {
	s := openPostgres(t, pgtest.Shared(t).Schema(t), Config{})
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close: %v, want ErrClosed", err)
	}
}

// Which failures fail one write, which are tried again at once, and which
// fail the whole batch.
func TestPostgresErrorClasses(t *testing.T) {
	cases := []struct {
		err               error
		blamed, transient bool
	}{
		{&pgconn.PgError{Code: "22021"}, true, false},  // a NUL in text
		{&pgconn.PgError{Code: "23505"}, true, false},  // a unique constraint
		{&pgconn.PgError{Code: "54000"}, true, false},  // a key too long for its index
		{&pgconn.PgError{Code: "40P01"}, false, true},  // a deadlock with another node
		{&pgconn.PgError{Code: "40001"}, false, true},  // a serialization conflict
		{&pgconn.PgError{Code: "57P01"}, false, false}, // the server shutting down
		{&pgconn.PgError{Code: "42P01"}, false, false}, // no such table: every write would fail
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505"}), true, false},
		{notRun{&pgconn.PgError{Code: "57P01"}}, false, true}, // ended before running anything
		{context.DeadlineExceeded, false, false},
	}
	for _, c := range cases {
		if got := blamed(c.err); got != c.blamed {
			t.Errorf("blamed(%v) = %v", c.err, got)
		}
		if got := transient(c.err); got != c.transient {
			t.Errorf("transient(%v) = %v", c.err, got)
		}
	}
}
