package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// unmask decodes a masked client frame made by frame.
func unmask(t *testing.T, f []byte) (op byte, payload []byte) {
	t.Helper()
	if f[0]&0x80 == 0 || f[1]&0x80 == 0 {
		t.Fatalf("frame %x: not final or not masked", f[:2])
	}
	n, rest := uint64(f[1]&0x7f), f[2:]
	switch n {
	case 126:
		n, rest = uint64(binary.BigEndian.Uint16(rest)), rest[2:]
	case 127:
		n, rest = binary.BigEndian.Uint64(rest), rest[8:]
	}
	key, rest := rest[:4], rest[4:]
	if uint64(len(rest)) != n {
		t.Fatalf("length %d, payload %d bytes", n, len(rest))
	}
	p := make([]byte, n)
	for i := range rest {
		p[i] = rest[i] ^ key[i%4]
	}
	return f[0] & 0x0f, p
}

func TestFrameSizes(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536, 1 << 20} {
		want := bytes.Repeat([]byte("x"), n)
		op, got := unmask(t, frame(opText, want))
		if op != opText || !bytes.Equal(got, want) {
			t.Errorf("%d bytes: op %d, payload of %d bytes", n, op, len(got))
		}
	}
}

func TestReadFrameSizes(t *testing.T) {
	server, client := net.Pipe()
	defer func() { _ = server.Close() }()
	c := &wsConn{Conn: client, br: bufio.NewReader(client)}
	sizes := []int{0, 125, 126, 65535, 65536}
	go func() {
		for _, n := range sizes {
			h := []byte{0x80 | opText}
			switch {
			case n < 126:
				h = append(h, byte(n))
			case n < 1<<16:
				h = binary.BigEndian.AppendUint16(append(h, 126), uint16(n))
			default:
				h = binary.BigEndian.AppendUint64(append(h, 127), uint64(n))
			}
			_, _ = server.Write(append(h, bytes.Repeat([]byte("y"), n)...))
		}
	}()
	for _, n := range sizes {
		op, p, err := c.readFrame(time.Now().Add(5 * time.Second))
		if err != nil || op != opText || len(p) != n {
			t.Fatalf("%d bytes: op %d, %d bytes, %v", n, op, len(p), err)
		}
	}
}

func TestOptions(t *testing.T) {
	o := options{addr: "127.0.0.1:1", mode: "headers", n: 7}
	if err := o.complete(); err != nil {
		t.Fatal(err)
	}
	if o.conns != 1000 || o.size != 1<<20 || o.dur != 15*time.Second || o.n != 7 {
		t.Errorf("headers defaults: %+v", o)
	}
	for _, bad := range []options{
		{addr: "127.0.0.1:1", mode: "nosuch"},
		{addr: "10.0.0.1:80", mode: "pings"},
		{addr: "example.com:80", mode: "pings"},
		{addr: "127.0.0.1", mode: "pings"},
		{addr: "[::1]:80", mode: "pings", conns: -1},
	} {
		if err := bad.complete(); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
	remote := options{addr: "10.0.0.1:80", mode: "pings", remote: true}
	if err := remote.complete(); err != nil {
		t.Errorf("-remote: %v", err)
	}
}

func TestExitStatus(t *testing.T) {
	var out, errs bytes.Buffer
	if got := realMain([]string{"-mode", "pings", "-addr", "192.0.2.1:80"}, &out, &errs); got != 2 {
		t.Errorf("a remote address: status %d, want 2", got)
	}
	errs.Reset()
	// A port nothing listens on: the mode cannot run.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if got := realMain([]string{"-mode", "history", "-addr", addr}, &out, &errs); got != 1 {
		t.Errorf("no server: status %d, want 1", got)
	}
	if lines := strings.Count(errs.String(), "\n"); lines != 1 || !strings.HasPrefix(errs.String(), "chatdos: history: ") {
		t.Errorf("stderr %q: want one line", errs.String())
	}
}

func TestTally(t *testing.T) {
	var tl tally
	if tl.String() != "none" {
		t.Errorf("empty: %q", tl.String())
	}
	tl.add("b")
	tl.add("a")
	tl.add("b")
	if got := tl.String(); got != "a×1, b×2" {
		t.Errorf("got %q", got)
	}
}

// serve starts a loopback HTTP server for h and returns its address.
func serve(t *testing.T, h http.Handler, maxHeader int) string {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.MaxHeaderBytes = maxHeader
	s.Start()
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// run runs one mode with args against addr and returns its report.
func run(t *testing.T, addr string, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if got := realMain(append([]string{"-addr", addr}, args...), &out, &errs); got != 0 {
		t.Fatalf("%v: status %d: %s", args, got, errs.String())
	}
	return out.String()
}

func TestHeaders(t *testing.T) {
	addr := serve(t, http.NotFoundHandler(), 1024)
	got := run(t, addr, "-mode", "headers", "-conns", "5", "-size", "65536", "-dur", "5s")
	if !strings.Contains(got, "HTTP 431×") {
		t.Errorf("got %q", got)
	}
}

func TestHistory(t *testing.T) {
	var up websocket.Upgrader
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		for asked := 1; ; asked++ {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
			switch {
			case asked == 1:
				_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"history","ref":"h","messages":[]}`))
			case asked <= 4:
				_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"error","ref":"h","code":"rate_limited"}`))
			default:
				msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "")
				_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
				return
			}
		}
	}), 0)
	got := run(t, addr, "-mode", "history", "-dur", "5s")
	for _, want := range []string{"5 requests", "1 pages", "3 rate_limited", "close 1008"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want %q in it", got, want)
		}
	}
}

func TestPings(t *testing.T) {
	var up websocket.Upgrader
	var pinged atomic.Int64
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		c.SetPingHandler(func(string) error {
			if pinged.Add(1) == 100 {
				msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "")
				_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			return nil
		})
		_, _, _ = c.ReadMessage()
	}), 0)
	got := run(t, addr, "-mode", "pings", "-dur", "500ms")
	if !strings.Contains(got, "close 1008×1") {
		t.Errorf("got %q", got)
	}
}
