package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
)

// The defaults that keep one client from taking the server: connections
// from the open-file limit, 256 per IP, 50 messages a second per IP.
func TestLimitDefaults(t *testing.T) {
	o, err := parseOptions(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.maxConns != autoMaxConns || o.maxConnsIP != 256 || o.ipMsgRate != 50 || o.trustedProxies != "" {
		t.Errorf("defaults: -max-conns %d, -max-conns-per-ip %d, -ip-msg-rate %v, -trusted-proxies %q; want -1, 256, 50, none",
			o.maxConns, o.maxConnsIP, o.ipMsgRate, o.trustedProxies)
	}
	o, err = parseOptions(nil, env(map[string]string{"CHAT_TRUSTED_PROXIES": "10.0.0.0/8", "CHAT_IP_MSG_RATE": "0"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := serverConfig(o, nil)
	if len(cfg.TrustedProxies) != 1 || cfg.TrustedProxies[0].String() != "10.0.0.0/8" || cfg.IPMsgRate != 0 {
		t.Errorf("from the environment: proxies %v, ip rate %v; want 10.0.0.0/8 and 0", cfg.TrustedProxies, cfg.IPMsgRate)
	}
}

func TestMaxConnsComesFromTheOpenFileLimit(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	limit := func(n uint64, err error) func() (uint64, error) {
		return func() (uint64, error) { return n, err }
	}
	cases := []struct {
		maxConns int
		limit    func() (uint64, error)
		want     int
	}{
		{autoMaxConns, limit(20000, nil), 20000 - fdReserve},
		{autoMaxConns, limit(100, nil), 1},
		{autoMaxConns, limit(1<<63, nil), 1<<31 - 1 - fdReserve},
		{autoMaxConns, limit(0, errors.New("none here")), 0},
		{0, limit(20000, nil), 0},
		{500, limit(20000, nil), 500},
	}
	for _, c := range cases {
		if got := connLimit(options{maxConns: c.maxConns}, c.limit, quiet); got != c.want {
			t.Errorf("-max-conns %d: %d, want %d", c.maxConns, got, c.want)
		}
	}
}

var listeningOps = regexp.MustCompile(`msg=listening what=ops addr=(\S+)`)

// With -pprof, profiles and goroutine dumps are served on -metrics-addr,
// and never on the chat address.
func TestPprofIsServedOnlyOnTheOpsAddress(t *testing.T) {
	srv := launch(t, nil, "-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-pprof", "-store", "memory", "-auth", "none")
	chat, ops := srv.addr, srv.await(listeningOps)
	for _, c := range []struct {
		url  string
		want int
	}{
		{"http://" + ops + "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{"http://" + chat + "/debug/pprof/goroutine?debug=1", http.StatusNotFound},
		{"http://" + chat + "/debug/pprof/", http.StatusNotFound},
		{"http://" + chat + "/healthz", http.StatusNotFound}, // ops have their own address
		{"http://" + ops + "/healthz", http.StatusOK},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: HTTP %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}
}
