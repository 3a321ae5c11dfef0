package main

// chatd over TLS: https and wss on -addr, and a certificate renewed on disk
// taken for new connections while the open ones carry on.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/internal/testcert"
)

// tlsWait bounds each wait of these tests; a passing test never waits this
// long.
const tlsWait = 10 * time.Second

func TestTLSServesAndPicksUpRenewedCertificate(t *testing.T) {
	t.Parallel()
	ca := testcert.NewCA(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, ca, 1, cert, key, time.Now().Add(-24*time.Hour))
	addr := startTLS(t, cert, key)

	alice, bob := dialWSS(t, ca, addr, "alice"), dialWSS(t, ca, addr, "bob")
	if s := alice.serial(); s != 1 {
		t.Fatalf("alice's handshake saw serial %d, want 1", s)
	}
	alice.send(t, "hello over tls")
	bob.expect(t, "public", "alice", "hello over tls")

	writePair(t, ca, 2, cert, key, time.Now()) // the renewal, a day later
	waitFor(t, func() string {
		if handshakeSerial(t, ca, addr) == 2 {
			return "renewed"
		}
		return ""
	})
	carol := dialWSS(t, ca, addr, "carol")
	if s := carol.serial(); s != 2 {
		t.Fatalf("a connection after the renewal saw serial %d, want 2", s)
	}
	alice.send(t, "still here") // opened under serial 1: both ways still work
	carol.expect(t, "public", "alice", "still here")
	carol.send(t, "/dm alice welcome back")
	alice.expect(t, "dm", "carol", "welcome back")
}

// TestTLSServesHTTPS: the ops endpoints on the chat address answer over
// https, in HTTP/1.1 even to a client that would rather speak HTTP/2.
func TestTLSServesHTTPS(t *testing.T) {
	t.Parallel()
	ca := testcert.NewCA(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, ca, 7, cert, key, time.Now())
	addr := startTLS(t, cert, key)
	client := &http.Client{Timeout: tlsWait, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/1.1" {
		t.Errorf("GET /healthz over https: %s %s, want HTTP/1.1 200", resp.Proto, resp.Status)
	}
}

func TestTLSOptionsGoTogether(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"-tls-cert", "c.pem"}, nil},
		{nil, map[string]string{"CHAT_TLS_KEY": "k.pem"}},
	} {
		_, err := parseOptions(c.args, env(c.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "-tls-cert and -tls-key go together") {
			t.Errorf("%v %v: error %v, want both or neither", c.args, c.env, err)
		}
	}
	o, err := parseOptions([]string{"-tls-key", "k.pem"}, env(map[string]string{"CHAT_TLS_CERT": "c.pem"}), &bytes.Buffer{})
	if err != nil || o.tlsCert != "c.pem" || o.tlsKey != "k.pem" {
		t.Errorf("cert from the environment, key from a flag: %+v, %v", o, err)
	}
}

// TestRunRefusesAMissingCertificate: a certificate that cannot be loaded
// stops chatd before it listens, with an error naming the file (exit 1),
// and a lone -tls-cert is a usage error (exit 2).
func TestRunRefusesAMissingCertificate(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "cert.pem")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", "memory",
		"-tls-cert", missing, "-tls-key", missing}, env(nil), &stderr)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing certificate: run returned %v, want an error naming %s", err, missing)
	}
	if strings.Contains(stderr.String(), "msg=listening") {
		t.Errorf("chatd listened without its certificate:\n%s", stderr.String())
	}
	err = run(context.Background(), []string{"-tls-cert", missing}, env(nil), &stderr)
	if !errors.Is(err, errUsage) {
		t.Errorf("-tls-cert alone: run returned %v, want a usage error", err)
	}
}

func TestHelpListsTLSAndJWTFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, _ = parseOptions([]string{"-h"}, env(nil), &out)
	for _, name := range []string{"tls-cert", "tls-key", "jwt-secret-file", "jwt-public-key", "jwt-audience"} {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("-h does not list -%s with $%s", name, envName(name))
		}
	}
}

// writePair writes a certificate for 127.0.0.1 with serial, and its key,
// dated at, so that a renewal is told by its time even where the file
// system keeps coarse times. The certificate goes first, as renewal tools
// often write it.
func writePair(t *testing.T, ca *testcert.CA, serial int64, cert, key string, at time.Time) {
	t.Helper()
	certPEM, keyPEM := ca.Issue(t, serial)
	for _, f := range []struct {
		path string
		data []byte
	}{{cert, certPEM}, {key, keyPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

// startTLS runs chatd with the pair on 127.0.0.1:0, its admin socket in a
// directory of its own, and returns its address; it is shut down, and must
// return nil, when the test ends.
func startTLS(t *testing.T, cert, key string) string {
	t.Helper()
	return launch(t, nil, "-addr", "127.0.0.1:0", "-store", "memory", "-data", shortTempDir(t), "-tls-cert", cert,
		"-tls-key", key, "-auth", "none").addr // connects with ?user=
}

// handshakeSerial is the serial of the certificate a new TLS connection
// to addr is shown.
func handshakeSerial(t *testing.T, ca *testcert.CA, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// wssConn is a chat client over wss.
type wssConn struct {
	user string
	ws   *websocket.Conn
}

// dialWSS connects user over wss, trusting ca, and takes the welcome.
func dialWSS(t *testing.T, ca *testcert.CA, addr, user string) *wssConn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: tlsWait, TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}
	ws, resp, err := d.Dial("wss://"+addr+"/chat?user="+user, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("%s: %v", user, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := &wssConn{user: user, ws: ws}
	if f := c.next(t); f.Type != "welcome" {
		t.Fatalf("%s: first frame %+v, want welcome", user, f)
	}
	return c
}

// serial is the serial of the certificate this connection was opened with.
func (c *wssConn) serial() int64 {
	return c.ws.NetConn().(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// send sends a plain-text line: a public message, or a command.
func (c *wssConn) send(t *testing.T, line string) {
	t.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(tlsWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(line)); err != nil {
		t.Fatalf("%s: %v", c.user, err)
	}
}

// frame is what these tests read of a server frame.
type frame struct {
	Type, Kind, From, Text string
}

func (c *wssConn) next(t *testing.T) frame {
	t.Helper()
	return c.nextBy(t, time.Now().Add(tlsWait))
}

func (c *wssConn) nextBy(t *testing.T, deadline time.Time) frame {
	t.Helper()
	_ = c.ws.SetReadDeadline(deadline)
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		t.Fatalf("%s: %v", c.user, err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %q: %v", c.user, data, err)
	}
	return f
}

// expect reads until a message of kind from from with text, passing over
// other frames (presence, receipts, the client's own public messages).
func (c *wssConn) expect(t *testing.T, kind, from, text string) {
	t.Helper()
	deadline := time.Now().Add(tlsWait)
	for {
		f := c.nextBy(t, deadline)
		if f.Type == "message" && f.Kind == kind && f.From == from && f.Text == text {
			return
		}
	}
}
