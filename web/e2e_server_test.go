package web_test

// The chat server of the end-to-end tests, in the test process: a bolt
// store in the test's temporary directory, the accounts service, the
// actors, the edge and the web client, on 127.0.0.1 with an ephemeral
// port, put together as chatd does it with -auth accounts. It can be
// restarted on the same port and store.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/server"
	"github.com/actorchat/chat/web"
)

// serverOptions are what a test changes from chatd's defaults.
type serverOptions struct {
	msgRate       float64 // actors.NoRateLimit turns the limit off; 0 is the default (10 a second)
	msgBurst      int
	presenceLimit int // 0 is the default (1,000)
}

// chatServer is one chat server, restartable.
type chatServer struct {
	t    *testing.T
	dir  string
	opts serverOptions
	addr string // 127.0.0.1:0 until the first start, then the port it got

	chat *actors.Chat // the running parts; nil while stopped
	srv  *server.Server
	hs   *http.Server
}

// startServer starts a server that stops when the test ends.
func startServer(t *testing.T, opts serverOptions) *chatServer {
	t.Helper()
	s := &chatServer{t: t, dir: t.TempDir(), opts: opts, addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// cheapHashes keep the tests' sign-ups fast; the hashing is not under test.
var cheapHashes = auth.Params{Time: 1, Memory: 64, Threads: 1}

func (s *chatServer) start() {
	s.t.Helper()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.OpenBolt(filepath.Join(s.dir, "chat.db"), store.Config{}, logger)
	if err != nil {
		s.t.Fatal(err)
	}
	accounts, err := auth.New(auth.Config{Store: st, Logger: logger, IPAttempts: auth.NoLimit, Params: cheapHashes})
	if err != nil {
		s.t.Fatal(err)
	}
	chat, err := actors.Start(actors.Config{Store: st, Logger: logger,
		MsgRate: s.opts.msgRate, MsgBurst: s.opts.msgBurst, PresenceLimit: s.opts.presenceLimit})
	if err != nil {
		s.t.Fatal(err)
	}
	s.chat = chat
	s.srv = server.New(server.Config{Logger: logger, Accounts: accounts, CloseGrace: 200 * time.Millisecond}, chat, nil)
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.hs = &http.Server{Handler: s.srv.Routes(web.Handler(nil)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.hs.Serve(ln) }()
}

// stop shuts the server down as chatd does on SIGTERM: connections get
// close 1001, then HTTP, the actors and the store stop.
func (s *chatServer) stop() {
	if s.chat == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := errors.Join(s.srv.Shutdown(ctx), s.hs.Shutdown(ctx), s.chat.Stop())
	s.chat = nil
	if err != nil {
		s.t.Errorf("stopping the server: %v", err)
	}
}

// restart stops the server and starts it again on the same port and store.
func (s *chatServer) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

func (s *chatServer) url() string   { return "http://" + s.addr + "/" }
func (s *chatServer) wsURL() string { return "ws://" + s.addr + "/chat" }

// grant is the answer of register and login.
type grant struct {
	User    string `json:"user"`
	Token   string `json:"token"`
	Expires string `json:"expires"`
}

// register creates an account through the API and returns its grant.
func (s *chatServer) register(name string) grant {
	s.t.Helper()
	status, body := s.post("/api/register", map[string]string{"name": name, "password": password}, "")
	if status != http.StatusCreated {
		s.t.Fatalf("register %s: HTTP %d %s", name, status, body)
	}
	return grantOf(s.t, body)
}

// post sends a JSON body (nil: none) with an optional bearer token.
func (s *chatServer) post(path string, body any, token string) (int, []byte) {
	s.t.Helper()
	data, _ := json.Marshal(body) // maps of strings marshal
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+path, bytes.NewReader(data))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := http.Client{Timeout: waitFor}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.t.Fatalf("reading the answer of %s: %v", path, err)
	}
	return resp.StatusCode, out
}
