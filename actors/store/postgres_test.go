package store

import (
	"os"
	"testing"

	"github.com/actorchat/chat/internal/pgtest"
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
