package server_test

// The login flood benchmark: password hashing is CPU-heavy and anyone may
// ask for it, so a flood of logins must not take the chat's CPU. Compare
// the sub-benchmarks' p99-ms (medians of three runs):
//
//	go test -run '^$' -bench ChatLatencyLoginFlood -benchtime 1000x -count 3 ./server/

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/server"
)

// Shape of the benchmark: a few chatters at a steady pace, and the flood's
// goroutines.
const (
	lfChatters = 5
	lfPace     = 10 * time.Millisecond // 100 messages a second in all, 500 deliveries
	lfFlooders = 32
	// lfRate is the paced flood's logins a second: forty times what the
	// pool hashes on the reference machine (one worker, about 40 ms a
	// hash), so that it stays saturated.
	lfRate = 1000
)

// BenchmarkChatLatencyLoginFlood measures how long a public message takes
// from a chatter's send to each chatter's read, with 5 chatters sending in
// turn at a fixed pace, in a server in the accounts mode hashing with the
// real argon2id parameters and the default pool (half the cores). The
// flood variants add 32 goroutines posting /api/login with wrong passwords
// for ever-new names for the whole run, with the per-address limit off, as
// from many addresses (from one, that limit answers 429 after 30 attempts
// and the flood costs next to nothing): paced at lfRate logins a second,
// which keeps the pool saturated, and unpaced, as fast as the goroutines
// go. The flood runs in the benchmark's process, so the unpaced one also
// measures its own CPU, which competes with the server's on a small
// machine. It reports p50-ms and p99-ms over every delivery and the logins
// answered 401 (a hash was computed), 503 (the pool and its queue were
// full) and 429 (a limit) in the run, and the logins a second; ns/op would
// only be the pace, so it is suppressed.
func BenchmarkChatLatencyLoginFlood(b *testing.B) {
	b.Run("quiet", func(b *testing.B) { lfLatency(b, false, 0) })
	b.Run(fmt.Sprintf("flood-%d/s", lfRate), func(b *testing.B) { lfLatency(b, true, lfRate) })
	b.Run("flood-unpaced", func(b *testing.B) { lfLatency(b, true, 0) })
}

// lfLatency runs the chat, with a flood of rate logins a second (0: as
// fast as it goes) if flood.
func lfLatency(b *testing.B, flood bool, rate int) {
	e, svc := lfStart(b)
	chatters := make([]*h4Client, lfChatters)
	for i := range chatters {
		chatters[i] = lfJoin(b, e, svc, fmt.Sprint("chatter", i))
	}
	var answers lfAnswers
	if flood {
		stop := lfFlood(b, e.baseURL, rate, &answers)
		defer stop()
	}

	var sentAt []time.Time
	tick := time.NewTicker(lfPace)
	defer tick.Stop()
	before, start := answers.snapshot(), time.Now()
	for b.Loop() {
		<-tick.C
		i := len(sentAt)
		sentAt = append(sentAt, time.Now())
		if err := chatters[i%len(chatters)].send(h4Say(fmt.Sprint("lat ", i), "")); err != nil {
			b.Fatal(err)
		}
	}
	during, took := answers.snapshot().minus(before), time.Since(start)
	lat := h4Latencies(b, chatters, sentAt)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(h4Percentile(lat, 50), "p50-ms")
	b.ReportMetric(h4Percentile(lat, 99), "p99-ms")
	b.ReportMetric(float64(during.unauthorized), "logins-401")
	b.ReportMetric(float64(during.busy), "logins-503")
	b.ReportMetric(float64(during.limited), "logins-429")
	b.ReportMetric(float64(during.unauthorized+during.busy+during.limited)/took.Seconds(), "logins/s")
	if during.other > 0 {
		b.Fatalf("%d logins of the flood were answered otherwise", during.other)
	}
}

// lfStart starts a server in the accounts mode with the real hashing
// parameters and pool, the per-address limit off and the rate limit off
// (the chatters' pace is the benchmark's).
func lfStart(b *testing.B) (*h4Env, *auth.Service) {
	b.Helper()
	st := store.NewMemory(store.Config{})
	svc, err := auth.New(auth.Config{Store: st, IPAttempts: auth.NoLimit})
	if err != nil {
		b.Fatal(err)
	}
	e := h4Start(b, actors.Config{Store: st, MsgRate: actors.NoRateLimit}, server.Config{Accounts: svc})
	return e, svc
}

// lfJoin creates the account name, logs it in, connects with the token and
// waits for the welcome.
func lfJoin(b *testing.B, e *h4Env, svc *auth.Service, name string) *h4Client {
	b.Helper()
	ctx := context.Background()
	if _, err := svc.Create(ctx, name, "correct horse"); err != nil {
		b.Fatal(err)
	}
	g, err := svc.Login(ctx, "127.0.0.1", name, "correct horse")
	if err != nil {
		b.Fatal(err)
	}
	d := websocket.Dialer{HandshakeTimeout: h4Wait}
	ws, resp, err := d.Dial(e.wsURL, http.Header{"Authorization": {"Bearer " + g.Token}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		b.Fatalf("dialing %s: %v", name, err)
	}
	c := &h4Client{user: name, ws: ws, done: make(chan struct{}), changed: make(chan struct{})}
	go c.read()
	c.await(b, "welcome", h4Type("welcome"))
	return c
}

// lfAnswers counts the flood's answers by status; safe for concurrent use.
type lfAnswers struct {
	unauthorized, busy, limited, other atomic.Int64
}

// lfCounts is lfAnswers at one moment.
type lfCounts struct{ unauthorized, busy, limited, other int64 }

func (a *lfAnswers) snapshot() lfCounts {
	return lfCounts{a.unauthorized.Load(), a.busy.Load(), a.limited.Load(), a.other.Load()}
}

func (c lfCounts) minus(d lfCounts) lfCounts {
	return lfCounts{c.unauthorized - d.unauthorized, c.busy - d.busy, c.limited - d.limited, c.other - d.other}
}

func (a *lfAnswers) count(status int) {
	switch status {
	case http.StatusUnauthorized:
		a.unauthorized.Add(1)
	case http.StatusServiceUnavailable:
		a.busy.Add(1)
	case http.StatusTooManyRequests:
		a.limited.Add(1)
	default:
		a.other.Add(1)
	}
}

// lfFlood starts the flood, rate logins a second (0: unpaced), and returns
// once it has had answers of each kind it will keep getting (a 401 and a
// 503: the pool is saturated); the returned function stops it and waits
// for its goroutines.
func lfFlood(b *testing.B, baseURL string, rate int, answers *lfAnswers) (stop func()) {
	b.Helper()
	client := &http.Client{Timeout: h4Wait, Transport: &http.Transport{MaxIdleConnsPerHost: lfFlooders}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	turns := lfPacer(&wg, done, rate)
	for g := range lfFlooders {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-turns:
				}
				body := fmt.Sprintf(`{"name":"flood%d-%d","password":"wrong horse"}`, g, i)
				resp, err := client.Post(baseURL+"/api/login", "application/json", strings.NewReader(body))
				if err != nil {
					answers.other.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body) // so that the connection is reused
				_ = resp.Body.Close()
				answers.count(resp.StatusCode)
			}
		})
	}
	deadline := time.Now().Add(h4Wait)
	for c := answers.snapshot(); c.unauthorized == 0 || c.busy == 0; c = answers.snapshot() {
		if time.Now().After(deadline) {
			b.Fatalf("the flood did not saturate the hashing pool: %+v", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() {
		close(done)
		wg.Wait()
		client.CloseIdleConnections()
	}
}

// lfPacer returns a channel that yields rate turns a second until done is
// closed, or, for rate 0, one that always yields.
func lfPacer(wg *sync.WaitGroup, done <-chan struct{}, rate int) <-chan struct{} {
	if rate == 0 {
		always := make(chan struct{})
		close(always)
		return always
	}
	turns := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			select {
			case turns <- struct{}{}:
			case <-done:
				return
			default: // every flooder is busy: the turn is lost, as a client's would be
			}
		}
	})
	return turns
}
