package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned by New when no PostgreSQL binaries are found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (apt-get install postgresql)")

// startTimeout bounds a server's start: initdb, then the server accepting
// connections. Both take 1-2 s on the reference machine.
const startTimeout = 60 * time.Second

// stopTimeout bounds a fast shutdown; past it the server is killed.
const stopTimeout = 30 * time.Second

// Server is one throwaway PostgreSQL server: its own data directory, port
// and socket directory. The superuser is postgres, with trust
// authentication on the loopback address only.
type Server struct {
	// set at construction
	bin  string               // directory of initdb and postgres
	dir  string               // temporary: data/, the socket, server.log
	port int                  // the loopback port, kept across restarts
	attr *syscall.SysProcAttr // how its processes start (procattr_*.go)

	schemas atomic.Int64 // names handed out by Schema

	// guarded by mu
	mu     sync.Mutex
	proc   *exec.Cmd     // the running server; nil when stopped
	exited chan struct{} // closed when proc has exited
	closed bool
}

// New creates a cluster in a new temporary directory and starts its
// server. ctx bounds the start. It returns ErrNotInstalled when
// PostgreSQL's binaries are not found.
func New(ctx context.Context) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.init(ctx); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	return s, nil
}

// init makes the cluster and starts it on a free port. A port found free
// may be taken before the server binds it; another is tried then.
func (s *Server) init(ctx context.Context) error {
	attr, err := serverAttr(s.dir)
	if err != nil {
		return err
	}
	s.attr = attr
	if err := s.initdb(ctx); err != nil {
		return err
	}
	for try := 1; ; try++ {
		if s.port, err = freePort(); err != nil {
			return err
		}
		err = s.Start(ctx)
		if err == nil || try == 3 || ctx.Err() != nil {
			return err
		}
	}
}

// initdb creates the cluster: UTF-8, with ICU's en-US collation as the
// default, as a production database would have one that is not byte
// order, so that a query relying on byte order without saying so fails
// here too. fsync stays on: benchmarks measure real commits.
func (s *Server) initdb(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, "initdb"),
		"-D", s.dataDir(), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
		"--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync")
	cmd.SysProcAttr = s.attr
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	return nil
}

// Start starts the server (again, after Stop) and waits until it accepts
// connections, on the same port as before.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("pgtest: server closed")
	case s.proc != nil:
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	log, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir(),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(s.port),
		"-c", "unix_socket_directories="+s.dir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = s.attr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := s.awaitReady(ctx, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w\n%s", err, s.logTail())
	}
	s.proc, s.exited = cmd, exited
	return nil
}

// awaitReady polls until the server answers a query, it exits, or ctx
// ends.
func (s *Server) awaitReady(ctx context.Context, exited <-chan struct{}) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.ping(ctx); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("pgtest: postgres exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres did not accept connections: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// ping connects and runs one query.
func (s *Server) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	return conn.Ping(ctx)
}

// Stop shuts the server down the way `pg_ctl stop -m fast` does (SIGINT:
// open transactions are rolled back, clients disconnected, then a
// checkpoint), and waits for it to exit. Stopping a stopped server does
// nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	proc, exited := s.proc, s.exited
	s.proc, s.exited = nil, nil
	if err := proc.Process.Signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("pgtest: stopping postgres: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(stopTimeout):
		_ = proc.Process.Kill()
		<-exited
		return fmt.Errorf("pgtest: postgres ignored a fast shutdown for %v; killed\n%s", stopTimeout, s.logTail())
	}
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	err := s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return err
	}
	s.closed = true
	return errors.Join(err, os.RemoveAll(s.dir))
}

// URL is the connection URL of database db as the superuser, over TCP.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewSchema creates an empty schema in the database postgres and returns
// a URL whose connections use it (their search_path): the tables they
// create and find are its.
func (s *Server) NewSchema(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", s.schemas.Add(1))
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", fmt.Errorf("pgtest: creating schema %s: %w", name, err)
	}
	return s.URL("postgres") + "&search_path=" + name, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logPath() string { return filepath.Join(s.dir, "server.log") }

// logTail returns the end of the server's log, for an error message.
func (s *Server) logTail() string {
	data, _ := os.ReadFile(s.logPath())
	const keep = 2000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return "postgres log (tail):\n" + string(data)
}

// findBin returns the directory of initdb and postgres: the newest
// /usr/lib/postgresql/N/bin (Debian keeps them off PATH), else PATH's.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

// version is N of /usr/lib/postgresql/N/bin, or 0.
func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }() // only its port was wanted
	_, port, _ := strings.Cut(ln.Addr().String(), ":")
	return strconv.Atoi(port)
}
