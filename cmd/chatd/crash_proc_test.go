package main

// Helpers of the crash test: chatd as a child process (this test binary
// re-executed, see TestMain) and a small WebSocket client.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/proto/wire"
)

// crashMainEnv, set to 1, makes the test binary run chatd's main instead of
// the tests: the crash test starts the server as a process of its own that
// way, without a separate `go build`.
const crashMainEnv = "CHATD_TEST_MAIN"

// crashWait bounds each wait of the crash test; a passing test never waits
// this long.
const crashWait = 10 * time.Second

var crashListening = regexp.MustCompile(`msg=listening what=chat addr=(\S+)`)

// crashServer is one chatd process.
type crashServer struct {
	// set at construction
	cmd    *exec.Cmd
	addr   string        // host:port it listens on
	exited chan struct{} // closed once the process has been waited for

	mu   sync.Mutex // guards the fields below
	logs strings.Builder
	err  error // the process's exit status, once exited
}

// crashStart starts chatd with a Bolt store in dir and waits until it
// listens. The process is killed, if still running, when the test ends.
func crashStart(t *testing.T, dir string) *crashServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-store", "bolt", "-data", dir,
		"-msg-rate", "0", "-ip-msg-rate", "0", // every sender is on 127.0.0.1, and sends as fast as it can
		"-log-format", "text", "-log-level", "info", "-auth", "none") // connects with ?user=
	cmd.Env = append(crashEnviron(), crashMainEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chatd: %v", err)
	}
	s := &crashServer{cmd: cmd, exited: make(chan struct{})}
	addrs := make(chan string, 1)
	go s.collect(stderr, addrs)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
	})
	select {
	case s.addr = <-addrs:
	case <-s.exited:
		t.Fatalf("chatd exited before listening (%v); its log:\n%s", s.exitErr(), s.log())
	case <-time.After(crashWait):
		t.Fatalf("chatd did not listen within %v; its log:\n%s", crashWait, s.log())
	}
	return s
}

// crashEnviron is the test's environment without CHAT_* variables, which
// would change chatd's configuration.
func crashEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHAT_") && !strings.HasPrefix(kv, crashMainEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// collect keeps the process's log, reports the address it listens on, and
// waits for the process once its stderr ends.
func (s *crashServer) collect(stderr io.Reader, addrs chan<- string) {
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.logs.WriteString(line + "\n")
		s.mu.Unlock()
		if m := crashListening.FindStringSubmatch(line); m != nil && !sent {
			addrs <- m[1]
			sent = true
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	err := s.cmd.Wait()
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.exited)
}

func (s *crashServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *crashServer) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// kill9 kills the process with SIGKILL: no shutdown, no flush.
func (s *crashServer) kill9(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	s.waitExit(t)
}

// stop asks the process to shut down (SIGTERM) and checks it exits cleanly.
func (s *crashServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	s.waitExit(t)
	if err := s.exitErr(); err != nil {
		t.Fatalf("chatd exited with %v after SIGTERM; its log:\n%s", err, s.log())
	}
}

func (s *crashServer) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(crashWait):
		t.Fatalf("chatd did not exit within %v", crashWait)
	}
}

// inboxDepth reads chat_inbox_messages from the server's /metrics.
func (s *crashServer) inboxDepth() (int, error) {
	hc := http.Client{Timeout: crashWait}
	resp, err := hc.Get("http://" + s.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "chat_inbox_messages "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no chat_inbox_messages in /metrics (%v)", sc.Err())
}

// crashRead is one frame read, or the error that ended the connection.
type crashRead struct {
	f   wire.ServerFrame
	raw string
	err error
}

// crashConn is a WebSocket client whose reader goroutine reads every frame
// into a channel and, as every client library does, answers pings while it
// reads (gorilla's default ping handler).
type crashConn struct {
	user  string
	ws    *websocket.Conn
	reads chan crashRead
	done  chan struct{} // closed when the reader has ended
}

// crashDial connects user to s and takes the welcome. Errors are returned,
// not reported, so that sender goroutines can use it.
func crashDial(s *crashServer, user string) (*crashConn, error) {
	dl := websocket.Dialer{HandshakeTimeout: crashWait}
	ws, resp, err := dl.Dial("ws://"+s.addr+"/chat?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: dial: %w", user, err)
	}
	c := &crashConn{user: user, ws: ws, reads: make(chan crashRead, 4096), done: make(chan struct{})}
	go c.readLoop()
	w, err := c.next()
	if err == nil && w.f.Type != "welcome" {
		err = fmt.Errorf("%s: first frame %s, want welcome", user, w.raw)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *crashConn) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.reads <- crashRead{err: err}
			return
		}
		f, perr := wire.ParseServerFrame(data)
		c.reads <- crashRead{f: f, raw: string(data), err: perr}
		if perr != nil {
			return
		}
	}
}

// next returns the next frame that is not a presence notice.
func (c *crashConn) next() (crashRead, error) {
	timer := time.NewTimer(crashWait)
	defer timer.Stop()
	for {
		select {
		case r := <-c.reads:
			if r.err != nil {
				return r, fmt.Errorf("%s: connection ended or sent garbage: %w", c.user, r.err)
			}
			if r.f.Type != "presence" {
				return r, nil
			}
		case <-timer.C:
			return crashRead{}, fmt.Errorf("%s: no frame within %v", c.user, crashWait)
		}
	}
}

func (c *crashConn) send(f wire.ClientFrame) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(crashWait))
	return c.ws.WriteMessage(websocket.TextMessage, f.Encode())
}

// leave closes the connection with 1000 and waits for the server's answer,
// which it sends once its read loop, the one that handles pongs, is done.
func (c *crashConn) leave() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(crashWait)); err != nil {
		return fmt.Errorf("%s: writing close: %w", c.user, err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(crashWait):
		return fmt.Errorf("%s: the server did not answer the close", c.user)
	}
}

// close drops the connection; for cleanup.
func (c *crashConn) close() {
	_ = c.ws.Close()
	<-c.done
}
