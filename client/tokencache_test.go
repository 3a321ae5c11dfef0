package client

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A saved token is found again for its server and user only, until it
// expires; Forget removes it, but not a newer token another run saved.
func TestTokenCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tc := TokenCache{Dir: filepath.Join(t.TempDir(), "tokens"), Now: func() time.Time { return now }}
	const server = "ws://localhost:8000/chat"
	g := Grant{User: "alice", Token: "t1", Expires: now.Add(time.Hour)}
	must(t, tc.Save(server, g))
	if got, ok := tc.Load(server, "alice"); !ok || got.Token != "t1" || !got.Expires.Equal(g.Expires) {
		t.Errorf("Load = %+v, %v; want the saved grant", got, ok)
	}
	for _, other := range [][2]string{{server, "bob"}, {"wss://localhost:8000/chat", "alice"}, {"ws://localhost:8001/chat", "alice"}} {
		if _, ok := tc.Load(other[0], other[1]); ok {
			t.Errorf("Load(%q, %q) found alice's token", other[0], other[1])
		}
	}
	must(t, tc.Save(server, Grant{User: "alice", Token: "t2", Expires: now.Add(time.Hour)}))
	must(t, tc.Forget(server, "alice", "t1")) // stale: t2 is saved now
	if got, _ := tc.Load(server, "alice"); got.Token != "t2" {
		t.Errorf("Forget of a stale token removed the newer one")
	}
	must(t, tc.Forget(server, "alice", "t2"))
	if _, ok := tc.Load(server, "alice"); ok {
		t.Error("Forget left the token")
	}
	must(t, tc.Forget(server, "alice", "t2")) // nothing to forget is fine

	must(t, tc.Save(server, Grant{User: "alice", Token: "t3", Expires: now}))
	if _, ok := tc.Load(server, "alice"); ok {
		t.Error("Load returned an expired token")
	}
}

// The cache closes a directory that exists with a looser mode, and writes
// no file others could read, whatever the umask.
func TestTokenCacheTightensModes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tokens")
	must(t, os.Mkdir(dir, 0o755))
	tc := TokenCache{Dir: dir}
	must(t, tc.Save("ws://h/chat", Grant{User: "alice", Token: "t"}))
	assertMode(t, dir, 0o700)
	assertMode(t, tc.path("ws://h/chat", "alice"), 0o600)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the one file (no temporary left)", len(entries))
	}
}

// A very long server address still makes a usable file name.
func TestTokenCacheLongServerName(t *testing.T) {
	t.Parallel()
	tc := TokenCache{Dir: t.TempDir()}
	server := "ws://chat"
	for len(server) < 300 {
		server += ".example"
	}
	must(t, tc.Save(server, Grant{User: "alice", Token: "t"}))
	if got, ok := tc.Load(server, "alice"); !ok || got.Token != "t" {
		t.Errorf("Load = %+v, %v", got, ok)
	}
}
