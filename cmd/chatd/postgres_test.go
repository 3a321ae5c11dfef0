package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/wire"
)

func TestPostgresFlagsRefused(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-store", "postgres"}, nil, "-postgres"},
		{[]string{"-store", "postgres", "-postgres", "postgres://chat:s3cret@db:notaport/chat"}, nil, "-postgres"},
		{nil, map[string]string{"CHAT_STORE": "postgres", "CHAT_POSTGRES": "postgres://chat:s3cret@db:5432/chat?sslmode=nonsense"}, "-postgres"},
	}
	for _, c := range cases {
		_, err := parseOptions(c.args, env(c.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: error %q, want one line mentioning %q and not the password", c.args, c.env, err, c.want)
		}
	}
	o, err := parseOptions(nil, env(map[string]string{"CHAT_STORE": "postgres", "CHAT_POSTGRES": "postgres://chat@db/chat"}), &bytes.Buffer{})
	if err != nil || o.postgresURL != "postgres://chat@db/chat" {
		t.Fatalf("from the environment: %q, %v", o.postgresURL, err)
	}
}

// chatd on PostgreSQL, one node: a private message to an offline user
// waits in the database and is delivered when he connects; /readyz says
// not ready while the database is down, and ready again when it is back.
func TestRunWithPostgres(t *testing.T) {
	db := pgtest.Fresh(t) // stopped below: not the shared one
	url := db.Schema(t)
	addr := launch(t, map[string]string{"CHAT_POSTGRES": url},
		"-addr", "127.0.0.1:0", "-store", "postgres", "-auth", "none", "-data", t.TempDir()).addr
	awaitReadyz(t, addr, http.StatusOK)
	srv := &crashServer{addr: addr} // crashDial's helpers, in process
	sendOffline(t, srv, "hello from postgres")
	bob, err := crashDial(srv, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.close()
	if r, err := bob.next(); err != nil || r.f.Type != "message" || r.f.Text != "hello from postgres" || !r.f.Offline {
		t.Fatalf("bob's first frame: %s, %v; want the offline message", r.raw, err)
	}

	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
	awaitReadyz(t, addr, http.StatusServiceUnavailable)
	if err := db.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	awaitReadyz(t, addr, http.StatusOK)
}

// sendOffline makes bob known and offline, then has alice send him text,
// and checks that her receipt says it was queued.
func sendOffline(t *testing.T, srv *crashServer, text string) {
	t.Helper()
	bob, err := crashDial(srv, "bob")
	if err == nil {
		err = bob.leave()
	}
	if err != nil {
		t.Fatal(err)
	}
	alice, err := crashDial(srv, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.close()
	if err := alice.send(wire.ClientFrame{Type: "dm", To: "bob", Text: text}); err != nil {
		t.Fatal(err)
	}
	if r, err := alice.next(); err != nil || r.f.Type != "sent" || !r.f.Queued {
		t.Fatalf("alice's receipt: %s, %v; want sent, queued", r.raw, err)
	}
}

// awaitReadyz polls /readyz until it answers status, within 10 s.
func awaitReadyz(t *testing.T, addr string, status int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		got := 0
		if err == nil {
			got = resp.StatusCode
			_ = resp.Body.Close()
		}
		switch {
		case got == status:
			return
		case time.Now().After(deadline):
			t.Fatalf("/readyz answered %d (%v), want %d", got, err, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHelpListsPostgres(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseOptions([]string{"-h"}, env(nil), &out); err == nil {
		t.Fatal("-h: want flag.ErrHelp")
	}
	if !strings.Contains(out.String(), "-postgres") || !strings.Contains(out.String(), "$CHAT_POSTGRES") ||
		!strings.Contains(out.String(), "bolt (durable, in -data), postgres") {
		t.Errorf("-h does not list -postgres with $CHAT_POSTGRES, or -store does not offer postgres:\n%s", out.String())
	}
}
