package server_test

// Close frames always reach the peer (docs/protocol.md, close codes): a
// client that keeps sending while the server closes it must still read the
// server's close frame and its exact code, not a reset. The server keeps
// reading and discarding after its close frame (a lingering close) until
// the peer answers, so the peer's unread data never turns the server's
// close into a TCP reset that destroys the close frame.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/internal/testload"
)

// streamCase is a peer that does something the server closes it for, then
// keeps streaming until it reads the close frame.
type streamCase struct {
	name  string
	code  int
	start func(ws *websocket.Conn) error // the offence; the stream follows
}

var streamCases = []streamCase{
	{"oversize fragments", websocket.CloseMessageTooBig, sendEndlessMessage},
	{"flood", websocket.ClosePolicyViolation, func(*websocket.Conn) error { return nil }},
	{"binary frame", websocket.CloseUnsupportedData, func(ws *websocket.Conn) error {
		return ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"who"}`))
	}},
	{"invalid UTF-8", websocket.CloseInvalidFramePayloadData, func(ws *websocket.Conn) error {
		return ws.WriteMessage(websocket.TextMessage, []byte("hi \xff\xfe"))
	}},
}

// sendEndlessMessage writes one text message in 8 KiB fragments (the
// dialer's write buffer) until writing fails: far past the 16 KiB limit,
// and still going when the server's close frame arrives.
func sendEndlessMessage(ws *websocket.Conn) error {
	w, err := ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	chunk := []byte(strings.Repeat("x", 1024))
	for {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
}

// streamPeer dials, commits its offence and streams plain lines until
// writing fails; it returns the close code it read (-1: none) and the
// error that ended its reading.
func streamPeer(e *env, user string, sc streamCase) (int, error) {
	dialer := websocket.Dialer{HandshakeTimeout: waitFor, WriteBufferSize: 8 << 10}
	ws, resp, err := dialer.Dial(e.wsURL+"?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return -1, err
	}
	defer func() { _ = ws.Close() }()
	read := make(chan error, 1)
	go func() { // gorilla answers the close frame while this reads
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				read <- err
				return
			}
		}
	}()
	_ = ws.SetWriteDeadline(time.Now().Add(2 * waitFor))
	if err := sc.start(ws); err == nil {
		line := []byte(strings.Repeat("stream ", 40))
		for ws.WriteMessage(websocket.TextMessage, line) == nil {
		}
	}
	select {
	case err = <-read:
	case <-time.After(2 * waitFor):
		return -1, errors.New("no end of reading")
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, err
	}
	return -1, err
}

// TestE2EStreamingPeersReadTheirCloseCode closes a few hundred peers that
// keep sending while they are closed, with the CPU loaded: each must read
// the exact close code. Not parallel: it loads every core on purpose, and
// the other tests would share the load.
func TestE2EStreamingPeersReadTheirCloseCode(t *testing.T) {
	const rounds, parallel = 100, 16 // 400 peers, 16 at a time
	e := startServer(t, withActors(func(c *actors.Config) {
		c.MsgRate, c.MsgBurst, c.FloodWindow = 1, 1, time.Second
	}))
	stop := make(chan struct{})
	load := testload.Busy(stop)
	defer func() { close(stop); load.Wait() }()

	var failures atomic.Int32
	var mu sync.Mutex
	var report []string
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	deadline := time.Now().Add(45 * time.Second)
	for i := range rounds * len(streamCases) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d peers within 45 s", i)
		}
		sc := streamCases[i%len(streamCases)]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			code, err := streamPeer(e, fmt.Sprint("peer", i), sc)
			if code != sc.code {
				failures.Add(1)
				mu.Lock()
				report = append(report, fmt.Sprintf("%s (peer%d): read %v, want close %d", sc.name, i, err, sc.code))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d peers did not read their close code:\n\t%s", n, rounds*len(streamCases), strings.Join(report, "\n\t"))
	}
}
