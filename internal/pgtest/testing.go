package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// RequireEnv names the environment variable that turns a missing
// PostgreSQL from a skipped test into a failed one: CI sets it to 1, so
// that the PostgreSQL tests cannot silently stop running there.
const RequireEnv = "CHAT_REQUIRE_POSTGRES"

// shared is the test binary's shared server, started by the first Shared.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Main runs a test binary's tests and then closes the shared server, if
// one was started: call it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}
	return code
}

// Shared returns the test binary's shared server, starting it on the first
// call. Tests that stop the server must use Fresh instead.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		shared.srv, shared.err = New(context.Background())
	})
	check(t, shared.err)
	return shared.srv
}

// Fresh starts a server of t's own, closed when t ends.
func Fresh(t testing.TB) *Server {
	t.Helper()
	srv, err := New(t.Context())
	check(t, err)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// Schema creates an empty schema on srv for t and returns the URL that
// uses it (see Server.NewSchema).
func (s *Server) Schema(t testing.TB) string {
	t.Helper()
	url, err := s.NewSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// check skips t when PostgreSQL is not installed, or fails it when that
// is required (RequireEnv) or the server did not start.
func check(t testing.TB, err error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) != "1":
		t.Skipf("%v; %s=1 makes this a failure", err, RequireEnv)
	default:
		t.Fatal(err)
	}
}
