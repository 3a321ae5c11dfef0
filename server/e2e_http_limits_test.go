package server_test

// The HTTP side of the edge under cheap input: header size, keep-alive
// connections, and every TCP connection counted by the connection limits
// from accept to close, whatever it carries. Each test drives the input
// that broke the server (at a smaller size) and checks the bound: the
// status, the close, the heap, the descriptors.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/internal/testload"
	"github.com/actorchat/chat/server"
)

// rawConn opens a TCP connection to the test server, closed when the test
// ends.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// addrOf is the host:port of an httptest server.
func addrOf(hs *httptest.Server) string { return hs.Listener.Addr().String() }

// get sends a keep-alive GET for path on c and reads the answer's status
// and body; br must be the only reader of c.
func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) (int, string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: chat.test\r\n\r\n"); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return readAnswer(t, br)
}

// readAnswer reads one HTTP answer.
func readAnswer(t *testing.T, br *bufio.Reader) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading an answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, string(body)
}

// expectClosedByServer waits for the server to close c: a read that ends
// (EOF or a reset) rather than times out.
func expectClosedByServer(t *testing.T, c net.Conn, br *bufio.Reader, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	_, err := br.ReadByte()
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: not closed by the server (read: %v)", what, err)
	}
}

func TestE2EHeaderPastTheCapIs431(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	for _, c := range []struct {
		pad  int
		want int
	}{{12 << 10, http.StatusOK}, {server.MaxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge}} {
		req, _ := http.NewRequest(http.MethodGet, e.hs.URL+"/healthz", nil)
		req.Header.Set("X-Pad", strings.Repeat("a", c.pad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("a header of %d bytes: %v", c.pad, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("a header of %d bytes: HTTP %d, want %d", c.pad, resp.StatusCode, c.want)
		}
	}
}

// TestUnfinishedHugeHeadersHoldBoundedMemory is the attack that took the
// server to 2.5 GB: upgrade requests whose header has a line of a
// megabyte that never ends, held open while the header timeout runs. Each
// must be answered 431 (or closed) at once, well within the header
// timeout, and the heap must not hold their megabytes. Not parallel: the
// heap is the process's.
func TestUnfinishedHugeHeadersHoldBoundedMemory(t *testing.T) {
	e := startServer(t)
	const conns, bound = 100, 16 << 20
	head := "GET /chat?user=u HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Pad: "
	line := append([]byte(head), bytes.Repeat([]byte("a"), 1<<20)...) // and no end of line
	cs := make([]net.Conn, conns)
	for i := range cs {
		cs[i] = rawConn(t, addrOf(e.hs))
	}
	before := testload.Heap()
	outcomes := make([]string, conns)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { outcomes[i] = sendUnfinished(c, line) })
	}
	wg.Wait()
	after := testload.Heap()
	answered := 0
	for i, o := range outcomes {
		switch o {
		case "431":
			answered++
		case "closed":
		default:
			t.Errorf("connection %d: %s, want 431 or closed", i, o)
		}
	}
	t.Logf("%d answered 431, the rest closed; heap %d KiB before, %d KiB after", answered, before>>10, after>>10)
	if after > before+bound {
		t.Errorf("heap grew by %d KiB while %d unfinished headers were open, want under %d KiB", (after-before)>>10, conns, bound>>10)
	}
}

// sendUnfinished writes line to c and reads what the server answers: its
// status, "closed" when the connection ends without one, or "no answer"
// when nothing comes within half the header timeout.
func sendUnfinished(c net.Conn, line []byte) string {
	deadline := time.Now().Add(server.DefaultHeaderTimeout / 2)
	_ = c.SetDeadline(deadline)
	go func() { _, _ = c.Write(line) }() // stops when the server stops reading
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	var ne net.Error
	switch {
	case err == nil:
		_ = resp.Body.Close()
		return resp.Status[:3]
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer"
	}
	return "closed"
}

// Keep-alive connections used to stay open for good, and were not counted
// by -max-conns: 2,000 of them, after one health check each, held their
// descriptors for minutes. They now hold a slot, and are closed after the
// idle timeout.
func TestE2EKeepAliveConnectionsAreCountedAndClosedWhenIdle(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) {
		c.MaxConns, c.IdleTimeout = 3, 300*time.Millisecond
	}))
	type kept struct {
		c  net.Conn
		br *bufio.Reader
	}
	var held []kept
	for range 3 {
		c := rawConn(t, addrOf(e.hs))
		br := bufio.NewReader(c)
		if status, _ := get(t, c, br, "/healthz"); status != http.StatusOK {
			t.Fatalf("health check: HTTP %d", status)
		}
		held = append(held, kept{c, br})
	}
	extra := rawConn(t, addrOf(e.hs))
	if status, body := get(t, extra, bufio.NewReader(extra), "/healthz"); status != http.StatusServiceUnavailable || body != "server_full\n" {
		t.Errorf("a fourth connection while three idle ones are open: HTTP %d %q, want 503 server_full", status, body)
	}
	for i, k := range held {
		expectClosedByServer(t, k.c, k.br, "an idle keep-alive connection "+string(rune('a'+i)))
	}
	eventually(t, "a slot after the idle ones closed", func() bool {
		c, err := net.DialTimeout("tcp", addrOf(e.hs), waitFor)
		if err != nil {
			return false
		}
		status, _ := get(t, c, bufio.NewReader(c), "/healthz")
		_ = c.Close()
		return status == http.StatusOK
	})
}

// Two processes opening connections used every descriptor the server had:
// accept failed with EMFILE, and new clients and health checks timed out.
// Every TCP connection now holds a slot from accept, also one that sends
// nothing; those past -max-conns are answered 503 and closed, so the
// server's descriptors stay at the limit; and the ops address, with its
// own small limit, still answers.
func TestE2EConnectionsPastTheLimitAreRefusedAtAccept(t *testing.T) {
	t.Parallel()
	const max = 20
	e := startServer(t, withServer(func(c *server.Config) { c.MaxConns = max }))
	ops := httptest.NewUnstartedServer(nil)
	ops.Config = e.srv.HTTPServer(e.srv.OpsHandler(nil), nil)
	ops.Listener = e.srv.OpsListener(ops.Listener, 2)
	ops.Start()
	t.Cleanup(ops.Close)

	fds := openFiles()
	for range max { // silent connections, which never send a byte
		rawConn(t, addrOf(e.hs))
	}
	var refused []net.Conn
	for range max {
		c := rawConn(t, addrOf(e.hs))
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(waitFor))
		if status, body := readAnswer(t, br); status != http.StatusServiceUnavailable || body != "server_full\n" {
			t.Fatalf("past the limit: HTTP %d %q, want 503 server_full", status, body)
		}
		expectClosedByServer(t, c, br, "a refused connection")
		refused = append(refused, c)
	}
	for _, c := range refused {
		_ = c.Close()
	}
	if fds >= 0 {
		// The test's own side holds max descriptors; the server's side, max.
		eventually(t, "the refused connections' descriptors to be closed", func() bool { return openFiles() <= fds+2*max })
	}
	if _, status := tryDial(e, "late"); status != http.StatusServiceUnavailable {
		t.Errorf("a WebSocket past the limit: HTTP %d, want 503", status)
	}
	// A transport of its own: http.DefaultTransport's idle connections are
	// closed by any parallel test's httptest.Server.Close, which would free
	// this one's slot at a random moment.
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Get(ops.URL + "/healthz")
	if err != nil {
		t.Fatalf("health check on the ops address while the chat address is full: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health check on the ops address: HTTP %d", resp.StatusCode)
	}
	// The health check's keep-alive connection holds one of the ops
	// address's two slots, a silent connection the other.
	rawConn(t, addrOf(ops))
	c := rawConn(t, addrOf(ops))
	if status, body := readAnswer(t, bufio.NewReader(c)); status != http.StatusServiceUnavailable || body != "ops_full\n" {
		t.Errorf("past the ops address's limit: HTTP %d %q, want 503 ops_full", status, body)
	}
}

// openFiles counts the process's open descriptors, or -1 where it cannot.
func openFiles() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func TestE2ESilentConnectionsHoldTheirIPsSlots(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) { c.MaxConnsPerIP = 2 }))
	first := rawConn(t, addrOf(e.hs))
	rawConn(t, addrOf(e.hs))
	resp, body := refusedDial(t, e, "user=late", nil)
	_ = resp.Body.Close()
	checkPlainRefusal(t, "a third connection from one IP", resp, body, http.StatusTooManyRequests)
	if body != "too_many_from_ip\n" {
		t.Errorf("refusal %q, want too_many_from_ip", body)
	}
	_ = first.Close()
	eventually(t, "the closed connection's slot", func() bool {
		ws, status := tryDial(e, "late")
		if ws != nil {
			_ = ws.Close()
		}
		return status == 0 && ws != nil
	})
}

// Behind a trusted proxy, the per-IP limit counts the client the proxy
// names; from anyone else, X-Forwarded-For is ignored.
func TestE2EPerIPLimitBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	behind := startServer(t, withServer(func(c *server.Config) {
		c.MaxConnsPerIP = 1
		c.TrustedProxies, _ = server.ParseTrustedProxies("127.0.0.0/8, ::1")
	}))
	from := func(ip string) dialOption { return withHeader(http.Header{"X-Forwarded-For": {ip}}) }
	join(t, behind, "a", from("198.51.100.1"))
	resp, body := refusedDial(t, behind, "user=b", http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.1"}})
	_ = resp.Body.Close()
	checkPlainRefusal(t, "a second connection of one client behind the proxy", resp, body, http.StatusTooManyRequests)
	join(t, behind, "c", from("198.51.100.2"))

	direct := startServer(t, withServer(func(c *server.Config) { c.MaxConnsPerIP = 1 }))
	join(t, direct, "a", from("198.51.100.1"))
	resp, body = refusedDial(t, direct, "user=b", http.Header{"X-Forwarded-For": {"198.51.100.2"}})
	_ = resp.Body.Close()
	checkPlainRefusal(t, "a header from a peer that is not a trusted proxy", resp, body, http.StatusTooManyRequests)
}

// Over TLS, a connection past the limit is refused over TLS: the client
// completes its handshake and reads the same one-line 503.
func TestE2ERefusalOverTLS(t *testing.T) {
	t.Parallel()
	e := startServer(t, withServer(func(c *server.Config) { c.MaxConns = 1 }))
	certs := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate
	certs.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := e.srv.HTTPServer(e.srv.Routes(e.srv.OpsHandler(nil)), nil)
	go func() { _ = hs.Serve(e.srv.Listener(ln, certs.TLS.Clone())) }()
	t.Cleanup(func() { _ = hs.Close() })

	dial := func() (net.Conn, *bufio.Reader) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitFor}, "tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // the throwaway certificate
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c, bufio.NewReader(c)
	}
	first, br := dial()
	if status, _ := get(t, first, br, "/healthz"); status != http.StatusOK {
		t.Fatalf("the first connection: HTTP %d", status)
	}
	second, br := dial()
	if status, body := get(t, second, br, "/healthz"); status != http.StatusServiceUnavailable || body != "server_full\n" {
		t.Errorf("past the limit over TLS: HTTP %d %q, want 503 server_full", status, body)
	}
}
