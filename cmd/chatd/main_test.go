package main

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOptionsFromFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	o, err := parseOptions([]string{"-msg-rate", "5"},
		env(map[string]string{"CHAT_ADDR": "127.0.0.1:9", "CHAT_MSG_RATE": "7", "CHAT_MAX_CONNS_PER_IP": "3", "CHAT_USER_IDLE": "90s"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:9" || o.msgRate != 5 || o.maxConnsIP != 3 || o.queueMax != 10000 || o.userIdle != 90*time.Second {
		t.Errorf("got addr=%q msgRate=%v maxConnsIP=%d queueMax=%d userIdle=%v; want env addr, flag rate over env, env per-IP cap, default queue, env idle time",
			o.addr, o.msgRate, o.maxConnsIP, o.queueMax, o.userIdle)
	}
	if d, _ := parseOptions(nil, env(nil), &bytes.Buffer{}); d.userIdle != 5*time.Minute {
		t.Errorf("default -user-idle %v, want 5m", d.userIdle)
	}
	if cfg := actorConfig(o, nil, nil); cfg.UserIdle != 90*time.Second {
		t.Errorf("actors.Config.UserIdle %v, want -user-idle", cfg.UserIdle)
	}
}

func TestOptionsRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-log-format", "xml"}, nil, "-log-format"},
		{[]string{"-store", "sqlite"}, nil, "-store"},
		{[]string{"-ping-interval", "1m", "-pong-wait", "30s"}, nil, "-ping-interval"},
		{nil, map[string]string{"CHAT_QUEUE_MAX": "lots"}, "CHAT_QUEUE_MAX"},
		{[]string{"-max-text", "0"}, nil, "positive"},
		{[]string{"-user-idle", "0s"}, nil, "-user-idle"},
		{[]string{"-pprof"}, nil, "-metrics-addr"}, // never on the chat address
		{[]string{"-trusted-proxies", "10.0.0.0/8,proxy.example"}, nil, "-trusted-proxies"},
		{nil, map[string]string{"CHAT_IP_MSG_RATE": "-1"}, "positive"},
		{[]string{"-max-conns", "-2"}, nil, "-max-conns"},
	}
	for _, c := range cases {
		_, err := parseOptions(c.args, env(c.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want one mentioning %q", c.args, c.env, err, c.want)
		}
	}
}

func TestHelpListsEveryFlagWithItsVariable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := parseOptions([]string{"-h"}, env(nil), &out); err == nil {
		t.Fatal("-h: want flag.ErrHelp")
	}
	for _, name := range []string{"addr", "log-format", "max-message", "max-text", "msg-rate", "msg-burst",
		"queue-max", "outbox-max", "max-conns", "max-conns-per-ip", "trusted-proxies", "ip-msg-rate", "allowed-origins",
		"metrics-addr", "store", "data", "debug-faults", "user-idle", "web"} {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("-h does not list -%s with $%s", name, envName(name))
		}
	}
}

// syncBuffer is a bytes.Buffer the server's logger and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`msg=listening what=chat addr=(\S+)`)

// TestRunServesAndShutsDownGracefully starts chatd on 127.0.0.1:0, finds
// the port in its log, connects, and cancels: the client gets 1001 and run
// returns nil (exit code 0).
func TestRunServesAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	c := launch(t, nil, "-addr", "127.0.0.1:0", "-store", "memory", "-auth", "none") // connects with ?user=
	addr, logs := c.addr, c.logs
	if !strings.Contains(logs.String(), `level=WARN msg="auth: none`) {
		t.Errorf("-auth none started without a warning; the log:\n%s", logs.String())
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/chat?user=alice", nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	c.cancel()
	_, _, err = ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("after shutdown the client read %v, want close 1001", err)
	}
	c.stop()
}

func waitFor(t *testing.T, f func() string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if v := f(); v != "" {
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out waiting")
	return ""
}
