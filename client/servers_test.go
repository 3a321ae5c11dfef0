package client

import (
	"net"
	"testing"

	"github.com/actorchat/chat/proto/wire"
)

// With several addresses (a cluster's nodes), a failed dial moves on to
// the next address, and so does a dropped connection: the client gets to
// a node that answers.
func TestClientRotatesThroughServers(t *testing.T) {
	t.Parallel()
	dead := closedAddr(t)
	a, b := newFakeServer(t), newFakeServer(t)
	cfg := testConfig(a)
	cfg.Server, cfg.Servers = dead, []string{a.url, b.url}
	_, events, _ := runClient(t, cfg)
	a.accept().closeWith(wire.CloseInternal, "node gone")
	nextEvent(t, events, "connection lost", func(ev Event) bool { return ev.Down })
	b.accept()
	nextEvent(t, events, "welcome from the next server", func(ev Event) bool { return ev.Frame.Type == "welcome" && ev.Reconnect })
}

// A bad address among several is refused at once, like a bad single one.
func TestConfigChecksEveryServer(t *testing.T) {
	t.Parallel()
	cfg := Config{User: "alice", Server: "ws://127.0.0.1:1/chat", Servers: []string{"ftp://x"}}
	if err := cfg.Validate(); err == nil {
		t.Fatal("a config with an ftp:// server validated")
	}
}

// closedAddr is a ws:// address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "ws://" + addr + "/chat"
}
