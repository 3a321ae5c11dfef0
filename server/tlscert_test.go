package server_test

// The certificate source: it loads the pair at start or refuses to, and
// takes a renewed pair from disk for new handshakes, keeping the old one
// while the new one is incomplete.

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/internal/testcert"
	"github.com/actorchat/chat/server"
)

// certClock is a clock the test moves by hand.
type certClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *certClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *certClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lockedBuffer collects the source's log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// certFiles is a certificate and key pair on disk.
type certFiles struct{ cert, key string }

func newCertFiles(t *testing.T) certFiles {
	t.Helper()
	dir := t.TempDir()
	return certFiles{filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
}

// write puts data in path, dated at: the tests date each write an hour
// after the last, so that a renewal is told by its time even where the
// file system keeps coarse times.
func write(t *testing.T, path string, data []byte, at time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// certSetup is a source over files holding serial 1, with its clock and log.
type certSetup struct {
	ca    *testcert.CA
	files certFiles
	clock *certClock
	logs  *lockedBuffer
	src   *server.CertSource
	date  time.Time // the files' modification time, moved on by each write
}

func newCertSetup(t *testing.T) *certSetup {
	t.Helper()
	s := &certSetup{ca: testcert.NewCA(t), files: newCertFiles(t), clock: &certClock{now: time.Unix(1e9, 0)},
		logs: &lockedBuffer{}, date: time.Now().Add(-24 * time.Hour)}
	s.writeCert(t, 1, true)
	src, err := server.NewCertSource(server.CertConfig{CertFile: s.files.cert, KeyFile: s.files.key,
		Logger: slog.New(slog.NewTextHandler(s.logs, nil)), Clock: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.src = src
	return s
}

// writeCert writes a certificate with serial, and its key if withKey.
func (s *certSetup) writeCert(t *testing.T, serial int64, withKey bool) (keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM := s.ca.Issue(t, serial)
	s.date = s.date.Add(time.Hour)
	write(t, s.files.cert, certPEM, s.date)
	if withKey {
		write(t, s.files.key, keyPEM, s.date)
	}
	return keyPEM
}

func (s *certSetup) serial(t *testing.T) int64 {
	t.Helper()
	c, err := s.src.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.SerialNumber.Int64()
}

func TestCertSourcePicksUpRenewal(t *testing.T) {
	t.Parallel()
	s := newCertSetup(t)
	if got := s.serial(t); got != 1 {
		t.Fatalf("serial %d at start, want 1", got)
	}
	s.writeCert(t, 2, true)
	if got := s.serial(t); got != 1 {
		t.Errorf("serial %d before the check is due; want 1 (the files are looked at most every second)", got)
	}
	s.clock.Advance(server.DefaultCertCheck)
	if got := s.serial(t); got != 2 {
		t.Errorf("serial %d once the check is due, want the renewed 2", got)
	}
	if !strings.Contains(s.logs.String(), "serial=2") {
		t.Errorf("log does not report the renewed certificate:\n%s", s.logs)
	}
}

// TestCertSourceKeepsOldPairUntilNewOneLoads: a renewal caught halfway (the
// certificate written, the key not yet) leaves the old pair in service
// with one warning that quotes no key, and the next look after the key
// lands takes the new pair.
func TestCertSourceKeepsOldPairUntilNewOneLoads(t *testing.T) {
	t.Parallel()
	s := newCertSetup(t)
	keyPEM := s.writeCert(t, 2, false)
	for range 3 {
		s.clock.Advance(server.DefaultCertCheck)
		if got := s.serial(t); got != 1 {
			t.Fatalf("serial %d with the new certificate beside the old key, want the old pair (1)", got)
		}
	}
	logs := s.logs.String()
	if n := strings.Count(logs, "level=WARN"); n != 1 {
		t.Errorf("%d warnings for one half-written renewal, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "PRIVATE KEY") || strings.Contains(logs, string(keyPEM[30:60])) {
		t.Errorf("log quotes key material:\n%s", logs)
	}
	s.date = s.date.Add(time.Hour)
	write(t, s.files.key, keyPEM, s.date)
	s.clock.Advance(server.DefaultCertCheck)
	if got := s.serial(t); got != 2 {
		t.Errorf("serial %d once the key landed, want 2", got)
	}
}

func TestNewCertSourceFailsClearly(t *testing.T) {
	t.Parallel()
	ca := testcert.NewCA(t)
	good, other := newCertFiles(t), newCertFiles(t)
	cert1, key1 := ca.Issue(t, 1)
	_, key2 := ca.Issue(t, 2)
	write(t, good.cert, cert1, time.Now())
	write(t, good.key, key1, time.Now())
	write(t, other.key, key2, time.Now())
	cases := []struct {
		name       string
		cert, key  string
		want, leak string
	}{
		{"missing cert", other.cert, good.key, "no such file", ""},
		{"missing key", good.cert, filepath.Join(t.TempDir(), "nope"), "no such file", ""},
		{"key of another certificate", good.cert, other.key, "does not match", string(key2[30:60])},
		{"key file given as cert", good.key, good.key, "tls", string(key1[30:60])},
	}
	for _, c := range cases {
		_, err := server.NewCertSource(server.CertConfig{CertFile: c.cert, KeyFile: c.key})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", c.name, err, c.want)
		}
		if err != nil && c.leak != "" && strings.Contains(err.Error(), c.leak) {
			t.Errorf("%s: error quotes the key: %v", c.name, err)
		}
	}
}

// TestTLSConfigNegotiates: clients get TLS 1.2 or later only, and
// HTTP/1.1 even when they would rather speak HTTP/2, so that WebSocket
// upgrades work.
func TestTLSConfigNegotiates(t *testing.T) {
	t.Parallel()
	s := newCertSetup(t)
	cfg := s.src.TLSConfig()
	for _, c := range []struct {
		name     string
		max      uint16
		wantFail bool
	}{
		{"TLS 1.1", tls.VersionTLS11, true},
		{"TLS 1.2", tls.VersionTLS12, false},
		{"TLS 1.3", tls.VersionTLS13, false},
	} {
		state, err := handshake(t, cfg, &tls.Config{RootCAs: s.ca.Pool, ServerName: "127.0.0.1",
			MaxVersion: c.max, NextProtos: []string{"h2", "http/1.1"}})
		switch {
		case c.wantFail && err == nil:
			t.Errorf("%s: handshake succeeded, want refused", c.name)
		case !c.wantFail && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.wantFail && state.NegotiatedProtocol != "http/1.1":
			t.Errorf("%s: ALPN chose %q, want http/1.1", c.name, state.NegotiatedProtocol)
		}
	}
}

// handshake runs a TLS handshake over an in-memory connection and returns
// what the client saw.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	a, b := net.Pipe()
	defer func() { _, _ = a.Close(), b.Close() }()
	deadline := time.Now().Add(5 * time.Second)
	_ = a.SetDeadline(deadline)
	_ = b.SetDeadline(deadline)
	srv := tls.Server(a, serverCfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if srv.Handshake() != nil {
			_ = a.Close() // unblock the client
		}
	}()
	cl := tls.Client(b, clientCfg)
	err := cl.Handshake()
	_ = b.Close()
	<-done
	return cl.ConnectionState(), err
}
