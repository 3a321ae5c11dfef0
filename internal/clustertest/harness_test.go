package clustertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/actorchat/chat/internal/pgtest"
)

// requireEnv, set to 1, turns missing etcd or PostgreSQL into a failure.
const requireEnv = "CHAT_REQUIRE_CLUSTER"

// runEnv, set to 1, runs these tests (`make test-cluster` sets it): they
// take a few minutes, too long for every `make test`.
const runEnv = "CHAT_CLUSTER_TESTS"

// waitFor bounds each wait for something that must happen; a passing test
// never waits this long. Failover waits are longer (failoverWait).
const waitFor = 15 * time.Second

// chatdBin is the chatd binary the tests run, built once by TestMain.
var chatdBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run builds chatd, runs the tests, and closes the shared PostgreSQL.
func run(m *testing.M) int {
	if os.Getenv(runEnv) != "1" {
		return m.Run() // each test skips (skipUnless): no chatd to build
	}
	dir, err := os.MkdirTemp("", "clustertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	chatdBin = filepath.Join(dir, "chatd")
	out, err := exec.Command("go", "build", "-o", chatdBin, "github.com/actorchat/chat/cmd/chatd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building chatd: %v\n%s", err, out)
		return 1
	}
	return pgtest.Main(m)
}

// skipUnless skips t unless the cluster tests were asked for, and (or
// fails it, under CHAT_REQUIRE_CLUSTER=1) when etcd is not installed;
// pgtest does the same for PostgreSQL. It returns etcd's path.
func skipUnless(t *testing.T) string {
	t.Helper()
	if chatdBin == "" {
		t.Skip("the cluster tests run with make test-cluster (" + runEnv + "=1)")
	}
	bin, err := exec.LookPath("etcd")
	if err == nil {
		return bin
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("etcd is not installed (apt-get install etcd-server) and %s=1", requireEnv)
	}
	t.Skip("etcd is not installed (apt-get install etcd-server); set " + requireEnv + "=1 to fail instead")
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// process is a child process whose log the test keeps.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}

	mu   sync.Mutex // guards logs
	logs strings.Builder
}

// startProcess starts bin with args, logging to its own buffer; found,
// when not nil, gets each log line.
func startProcess(t *testing.T, bin string, args []string, found func(string)) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = environ()
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go p.collect(out, found)
	return p
}

// environ is the test's environment without CHAT_ variables, which would
// configure chatd.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHAT_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *process) collect(r io.Reader, found func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.logs.WriteString(sc.Text() + "\n")
		p.mu.Unlock()
		if found != nil {
			found(sc.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
	_ = p.cmd.Wait()
	close(p.exited)
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// kill ends the process at once (SIGKILL) and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop asks the process to end (SIGTERM) and waits for it, killing it
// after waitFor.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(waitFor):
		t.Errorf("%s ignored SIGTERM for %v; killing it", p.cmd.Path, waitFor)
		p.kill()
	}
}

// etcdServer is a throwaway one-member etcd on loopback ports.
type etcdServer struct {
	bin, dir     string
	client, peer int
	proc         *process
	endpoint     string
}

// startEtcd starts etcd with its data in a temporary directory; it is
// stopped when t ends.
func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	bin := skipUnless(t)
	e := &etcdServer{bin: bin, dir: t.TempDir(), client: freePort(t), peer: freePort(t)}
	e.endpoint = "127.0.0.1:" + strconv.Itoa(e.client)
	e.start(t)
	t.Cleanup(func() {
		if e.proc != nil {
			e.proc.kill()
		}
	})
	return e
}

// start starts (or restarts) the member and waits until it is healthy.
func (e *etcdServer) start(t *testing.T) {
	t.Helper()
	client := "http://127.0.0.1:" + strconv.Itoa(e.client)
	peer := "http://127.0.0.1:" + strconv.Itoa(e.peer)
	e.proc = startProcess(t, e.bin, []string{"--name", "test", "--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "test=" + peer}, nil)
	eventually(t, waitFor, "etcd healthy", func() error { return httpOK(client + "/health") })
}

// deleteMembers deletes every cluster member's key, as etcd does when
// their leases expire.
func (e *etcdServer) deleteMembers(t *testing.T) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.endpoint}, DialTimeout: waitFor, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := cli.Delete(ctx, "/protoactor/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted == 0 {
		t.Fatal("no member keys to delete")
	}
}

// stopNow kills the member, as a crash would.
func (e *etcdServer) stopNow() {
	e.proc.kill()
	e.proc = nil
}

// httpOK fails unless url answers 200.
func httpOK(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// eventually calls f until it returns nil, failing t with f's last error
// after within.
func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var listening = regexp.MustCompile(`msg=listening what=chat addr=(\S+)`)

// node is one chatd process of a cluster.
type node struct {
	args []string
	proc *process
	addr string // host:port of its HTTP side
}

// cluster is etcd, PostgreSQL and the chatd nodes of one test.
type cluster struct {
	t     *testing.T
	etcd  *etcdServer
	pg    *pgtest.Server
	url   string // the store's PostgreSQL URL
	nodes []*node

	mu sync.Mutex // guards each node's addr, which clients read while nodes restart
}

// newCluster starts etcd, a PostgreSQL schema (on pg: a shared server, or
// a test's own when it will stop it) and n nodes with extra flags.
func newCluster(t *testing.T, pg *pgtest.Server, n int, extra ...string) *cluster {
	t.Helper()
	e := startEtcd(t)
	c := &cluster{t: t, etcd: e, pg: pg, url: pg.Schema(t)}
	name := "test" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range n {
		args := []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "node"+strconv.Itoa(i)),
			"-store", "postgres", "-postgres", c.url, "-cluster", name, "-cluster-addr", "127.0.0.1:0",
			"-etcd", e.endpoint, "-log-level", "info", "-ping-interval", "1s", "-pong-wait", "5s"}
		c.nodes = append(c.nodes, &node{args: append(args, extra...)})
	}
	for _, nd := range c.nodes {
		c.start(nd)
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd.proc != nil {
				nd.proc.stop(t)
			}
		}
	})
	c.awaitMembers(nil)
	return c
}

// start starts a node's process (again) and waits until it listens.
func (c *cluster) start(nd *node) {
	c.t.Helper()
	addrs := make(chan string, 1)
	nd.proc = startProcess(c.t, chatdBin, nd.args, func(line string) {
		if m := listening.FindStringSubmatch(line); m != nil {
			select {
			case addrs <- m[1]:
			default:
			}
		}
	})
	select {
	case addr := <-addrs:
		c.mu.Lock()
		nd.addr = addr
		c.mu.Unlock()
	case <-nd.proc.exited:
		c.t.Fatalf("chatd exited before listening; its log:\n%s", nd.proc.log())
	case <-time.After(waitFor):
		c.t.Fatalf("chatd did not listen within %v; its log:\n%s", waitFor, nd.proc.log())
	}
}

// awaitMembers waits until every running node is ready and its member
// list, as logged since marks (a log length per node; nil: since it
// started), has every running node, itself included: then grains are
// where they stay until the next change.
func (c *cluster) awaitMembers(marks []int) {
	c.t.Helper()
	for i, nd := range c.nodes {
		if nd.proc != nil {
			eventually(c.t, waitFor, "node ready", func() error { return httpOK("http://" + c.addr(i) + "/readyz") })
		}
	}
	eventually(c.t, failoverWait, "full member lists", func() error { return fullLists(c, marks) })
}

// running lists the nodes whose process runs.
func (c *cluster) running() []*node {
	var out []*node
	for _, nd := range c.nodes {
		if nd.proc != nil {
			out = append(out, nd)
		}
	}
	return out
}

// kill kills node i (SIGKILL), as a crash would.
func (c *cluster) kill(i int) {
	c.nodes[i].proc.kill()
	c.nodes[i].proc = nil
}

// restart starts node i again, on the HTTP address it had (its cluster
// address is new: it joins as a new member), and waits until it is ready.
func (c *cluster) restart(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	nd.args = append(nd.args, "-addr", c.addr(i))
	marks := logMarks(c)
	c.start(nd)
	c.awaitMembers(marks)
}

// addr is node i's HTTP address.
func (c *cluster) addr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].addr
}

// wsURL is the chat endpoint of node i.
func (c *cluster) wsURL(i int) string { return "ws://" + c.addr(i) + "/chat" }

// wsURLs are every node's chat endpoints, starting with node first.
func (c *cluster) wsURLs(first int) []string {
	var out []string
	for i := range c.nodes {
		out = append(out, c.wsURL((first+i)%len(c.nodes)))
	}
	return out
}

// logs returns every node's log, for a failure message.
func (c *cluster) logs() string {
	var b strings.Builder
	for i, nd := range c.nodes {
		if nd.proc != nil {
			fmt.Fprintf(&b, "--- node %d (%s)\n%s", i, nd.addr, nd.proc.log())
		}
	}
	return b.String()
}

var errTimeout = errors.New("timed out")
