package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultCertCheck is how often, at most, a CertSource looks at its files:
// two stat calls a second cost nothing beside a TLS handshake, and a
// renewed certificate is in use within a second of landing on disk.
const DefaultCertCheck = time.Second

// CertConfig names a certificate and key pair on disk (PEM) and how to
// watch it.
type CertConfig struct {
	CertFile, KeyFile string
	// Logger receives reloads and failed reloads. Default: discard.
	Logger *slog.Logger
	// Clock says when the files are due for another look. Default: time.Now.
	Clock func() time.Time
	// CheckEvery is how often, at most, the files are looked at. Zero
	// means DefaultCertCheck.
	CheckEvery time.Duration
}

// CertSource hands TLS handshakes the certificate in CertFile and KeyFile
// and picks up a renewed pair without a restart: at most every CheckEvery,
// a handshake looks at both files' modification times and sizes, and if
// either changed, loads the pair again. A pair that does not load (a
// renewal caught halfway, the certificate written before its key) leaves
// the previous one in service, with one warning, and is tried again at the
// next look. Connections already open keep the certificate they were
// opened with; only new handshakes see a new one.
//
// It is safe for concurrent use: handshakes share one mutex, held for the
// two stat calls of a look (and, once per renewal, the parsing of the new
// pair), which is small beside a handshake's own cryptography.
type CertSource struct {
	cfg CertConfig

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  fileStamp // the files as they were when cert was read
	failing bool      // the files changed since and did not load
	failed  fileStamp // the files as they were when they last failed to load
	next    time.Time // when the files are due for a look
}

// fileStamp is what tells that a file changed: its modification time (in
// Unix nanoseconds, so that stamps compare with ==) and size, for the
// certificate and the key.
type fileStamp struct {
	certMod, keyMod   int64
	certSize, keySize int64
}

// NewCertSource loads the pair, failing with a one-line error naming what
// is wrong if it cannot: the server must not start without a certificate.
func NewCertSource(cfg CertConfig) (*CertSource, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	orDefault(&cfg.CheckEvery, DefaultCertCheck)
	s := &CertSource{cfg: cfg}
	stamp, err := s.stamp()
	if err == nil {
		err = s.load(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	s.next = cfg.Clock().Add(cfg.CheckEvery)
	return s, nil
}

// GetCertificate is tls.Config's hook: the current pair, looked at again
// if it is due.
func (s *CertSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.cfg.Clock(); !now.Before(s.next) {
		s.next = now.Add(s.cfg.CheckEvery)
		s.refresh()
	}
	return s.cert, nil
}

// refresh reloads the pair if the files changed since it was loaded. The
// stamp is taken before reading, so a change made during the read is seen
// at the next look. Called with mu held.
func (s *CertSource) refresh() {
	stamp, err := s.stamp()
	if err == nil && stamp == s.loaded {
		return
	}
	if err == nil {
		err = s.load(stamp)
	}
	if err != nil && (!s.failing || stamp != s.failed) { // warn once per state of the files
		s.failing, s.failed = true, stamp
		s.cfg.Logger.Warn("tls certificate on disk did not load; still serving the previous one",
			"cert", s.cfg.CertFile, "key", s.cfg.KeyFile, "err", err)
	}
}

// load reads the pair and puts it in service. The error is tls's or the
// file system's, which describe the files, never their contents.
func (s *CertSource) load(stamp fileStamp) error {
	cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return err
	}
	s.cert, s.loaded, s.failing = &cert, stamp, false
	if leaf := cert.Leaf; leaf != nil {
		s.cfg.Logger.Info("tls certificate loaded", "cert", s.cfg.CertFile,
			"serial", leaf.SerialNumber.Text(16), "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC())
	}
	return nil
}

func (s *CertSource) stamp() (fileStamp, error) {
	c, err := os.Stat(s.cfg.CertFile)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := os.Stat(s.cfg.KeyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certMod: c.ModTime().UnixNano(), keyMod: k.ModTime().UnixNano(), certSize: c.Size(), keySize: k.Size()}, nil
}

// TLSConfig is the server side of TLS around the source's certificate:
// TLS 1.2 at least (Go negotiates 1.3 with clients that have it, and its
// default cipher suites and curves), and HTTP/1.1 as the only protocol
// offered in ALPN. WebSocket upgrades need HTTP/1.1 (Go's HTTP/2 server
// does not accept RFC 8441's extended CONNECT by default), and the rest of
// the edge is a few small requests, so HTTP/2 would bring a second code
// path with its own limits and timeouts and nothing the chat needs. Serve
// it with tls.NewListener, not http.Server.ServeTLS, which adds h2.
func (s *CertSource) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}
