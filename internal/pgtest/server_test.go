package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The server survives a stop and a start on the same port, a schema's URL
// keeps its tables, and Close leaves nothing behind.
func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	srv, err := New(t.Context())
	check(t, err)
	url := srv.Schema(t)
	run(t, url, "CREATE TABLE kept (v int)")
	run(t, url, "INSERT INTO kept VALUES (7)")

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.NewSchema(t.Context()); err == nil {
		t.Fatal("NewSchema succeeded on a stopped server")
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := query(t, url, "SELECT v FROM kept").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after a restart: %d, %v", v, err)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(srv.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the server's directory is still there: %v", err)
	}
}

// Schemas are apart: a table made through one URL is not seen through
// another's.
func TestSchemasAreApart(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	a, b := srv.Schema(t), srv.Schema(t)
	run(t, a, "CREATE TABLE mine (v int)")
	var n int
	if err := query(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'mine' AND schemaname = current_schema()").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the other schema sees %d tables called mine (%v)", n, err)
	}
}

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func run(t *testing.T, url, sql string) {
	t.Helper()
	if _, err := connect(t, url).Exec(t.Context(), sql); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, url, sql string) pgx.Row {
	t.Helper()
	return connect(t, url).QueryRow(t.Context(), sql)
}

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                     {}
func (r *recorder) Skipf(f string, args ...any) { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatal(args ...any)           { r.failed = fmt.Sprint(args...) }

// Without PostgreSQL a test is skipped, saying how to make that a
// failure; with CHAT_REQUIRE_POSTGRES=1 it fails. A server that is
// installed but does not start always fails it.
func TestMissingPostgresSkipsUnlessRequired(t *testing.T) {
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	check(r, ErrNotInstalled)
	if r.failed != "" || !strings.Contains(r.skipped, "not installed") || !strings.Contains(r.skipped, RequireEnv+"=1") {
		t.Errorf("not required: skipped %q, failed %q", r.skipped, r.failed)
	}

	t.Setenv(RequireEnv, "1")
	r = &recorder{TB: t}
	check(r, ErrNotInstalled)
	if r.skipped != "" || !strings.Contains(r.failed, "not installed") {
		t.Errorf("required: skipped %q, failed %q", r.skipped, r.failed)
	}

	t.Setenv(RequireEnv, "")
	r = &recorder{TB: t}
	check(r, errors.New("initdb: disk full"))
	if r.skipped != "" || r.failed == "" {
		t.Errorf("a broken installation: skipped %q, failed %q", r.skipped, r.failed)
	}
}
