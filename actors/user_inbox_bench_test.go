package actors

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// What queued private messages cost in memory. Recipients connect once and
// go away (their actors stay: UserIdle is an hour), then senders queue
// private messages of 4 KB for them through the actors into a bbolt store,
// and finally every recipient connects and drains its queue. Reported, in
// MB, after a full collection with the freed memory returned to the
// system (debug.FreeOSMemory), at three moments: before anything is queued,
// once everything is queued, and once everything is delivered:
//
//   - heap-MB-*: the live Go heap;
//   - anon-MB-*: the process's anonymous resident memory (RssAnon), which
//     the heap and the runtime's other memory make;
//   - rss-MB-*: all its resident memory, the pages of the bbolt file that
//     are mapped in (RssFile) included: those the kernel may drop at any
//     time, and a store under a memory limit loses them first;
//   - file-MB: the size of the bbolt file once everything is queued.
//
// A run takes about 40 s on the reference machine:
//
//	go test -run '^$' -bench QueuedInbox -benchtime 1x -count 3 ./actors/
func BenchmarkQueuedInbox(b *testing.B) {
	const recipients, messages, senders, size = 1000, 100_000, 10, 4096
	var m queuedMetrics
	for range b.N {
		m = measureQueuedInbox(b, queuedLoad{recipients, messages, senders, size})
	}
	for _, at := range []struct {
		name string
		mem  memUse
	}{{"before", m.before}, {"queued", m.queued}, {"drained", m.drained}} {
		b.ReportMetric(float64(at.mem.heap)/(1<<20), "heap-MB-"+at.name)
		b.ReportMetric(float64(at.mem.anon)/(1<<20), "anon-MB-"+at.name)
		b.ReportMetric(float64(at.mem.rss)/(1<<20), "rss-MB-"+at.name)
	}
	b.ReportMetric(float64(m.file)/(1<<20), "file-MB")
}

// queuedLoad is one run's shape: messages of size bytes from senders
// users, spread evenly over recipients users.
type queuedLoad struct{ recipients, messages, senders, size int }

// queuedMetrics is what one run measured.
type queuedMetrics struct {
	before, queued, drained memUse
	file                    int64
}

// memUse is the process's memory at one moment, in bytes.
type memUse struct{ heap, anon, rss int64 }

// measureMemory collects, returns the freed memory to the system, and
// reads the heap and the resident set (/proc/self/status; -1 where there
// is none).
func measureMemory() memUse {
	heap := heapBytes()
	debug.FreeOSMemory()
	anon, rss := procMemory()
	return memUse{heap: heap, anon: anon, rss: rss}
}

// procMemory reads RssAnon and VmRSS from /proc/self/status, in bytes.
func procMemory() (anon, rss int64) {
	anon, rss = -1, -1
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return anon, rss
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "RssAnon:":
			anon = kb << 10
		case "VmRSS:":
			rss = kb << 10
		}
	}
	return anon, rss
}

// queuedBench is one run: a Chat on a bbolt file in a temporary directory.
type queuedBench struct {
	tb   testing.TB
	chat *Chat
	path string
	load queuedLoad
}

func measureQueuedInbox(tb testing.TB, load queuedLoad) queuedMetrics {
	path := filepath.Join(tb.TempDir(), "chat.db")
	st, err := store.OpenBolt(path, store.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := Start(Config{Store: st, MsgRate: NoRateLimit, UserIdle: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			tb.Error(err)
		}
	}()
	qb := &queuedBench{tb: tb, chat: c, path: path, load: load}
	for i := range load.recipients {
		qb.visit(fmt.Sprint("r-", i))
	}
	var m queuedMetrics
	m.before = measureMemory()
	qb.flood()
	m.queued = measureMemory()
	if info, err := os.Stat(path); err == nil {
		m.file = info.Size()
	}
	qb.drain()
	m.drained = measureMemory()
	return m
}

// visit connects name and disconnects it at once: the name is known, and
// its actor runs without a session.
func (qb *queuedBench) visit(name string) {
	system := qb.chat.system
	pid, _ := system.ProcessRegistry.Add(&answerSession{answers: make(chan any, 1)}, "bench-"+name)
	defer system.ProcessRegistry.Remove(pid)
	user, err := qb.chat.Connect(name, pid)
	if err != nil {
		qb.tb.Fatal(err)
	}
	system.Root.Send(user, &chatpb.Disconnect{Session: pid})
}

// floodInFlight is how many private messages each sender has sent without a
// receipt yet.
const floodInFlight = 64

// flood has every sender send its share of the messages, floodInFlight at a
// time, round robin over the recipients, and returns once each has its
// receipt.
func (qb *queuedBench) flood() {
	each := qb.load.messages / qb.load.senders
	var wg sync.WaitGroup
	errs := make(chan error, qb.load.senders)
	for s := range qb.load.senders {
		wg.Go(func() {
			if err := qb.send(fmt.Sprint("s-", s), s*each, each); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		qb.tb.Fatal(err)
	}
}

// send connects name and sends n private messages, the first to recipient
// first, each to the next. Each text is a string of its own, as texts
// decoded from frames are: one shared string would make every queued copy
// cost only its header.
func (qb *queuedBench) send(name string, first, n int) error {
	system := qb.chat.system
	s := &answerSession{answers: make(chan any, floodInFlight)}
	pid, _ := system.ProcessRegistry.Add(s, "bench-"+name)
	defer system.ProcessRegistry.Remove(pid)
	user, err := qb.chat.Connect(name, pid)
	if err != nil {
		return err
	}
	dm := func(i int) {
		to := fmt.Sprint("r-", (first+i)%qb.load.recipients)
		text := strings.Repeat("x", qb.load.size)
		system.Root.RequestWithCustomSender(user, &chatpb.Dm{To: to, Text: text}, pid)
	}
	sent := 0
	for ; sent < min(floodInFlight, n); sent++ {
		dm(sent)
	}
	for range n {
		select {
		case a := <-s.answers:
			if _, ok := a.(*chatpb.Sent); !ok {
				return fmt.Errorf("%s: %s", name, describe(a))
			}
		case <-time.After(time.Minute):
			return fmt.Errorf("%s: no receipt for a minute", name)
		}
		if sent < n {
			dm(sent)
			sent++
		}
	}
	return nil
}

// drain connects every recipient with a session that confirms each
// private message as it arrives, and waits until no inbox holds anything.
func (qb *queuedBench) drain() {
	system := qb.chat.system
	for i := range qb.load.recipients {
		name := fmt.Sprint("r-", i)
		s := &confirmingSession{root: system.Root}
		pid, _ := system.ProcessRegistry.Add(s, "bench-drain-"+name)
		s.self = pid
		// Set before Connect: deliveries may reach the session before
		// Connect returns.
		s.user.Store(system.NewLocalPID("registry/" + name))
		if _, err := qb.chat.Connect(name, pid); err != nil {
			qb.tb.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for qb.chat.InboxDepth() != 0 {
		if time.Now().After(deadline) {
			qb.tb.Fatalf("%d messages still queued", qb.chat.InboxDepth())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ actor.Process = (*confirmingSession)(nil)
