package client

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// respondLimited answers like respond, but with the server's rate limit:
// a say or dm over a token bucket of r a second and burst b is refused as
// rate_limited. It counts the refusals and the say and dm frames it read.
func (fc *fakeConn) respondLimited(t *testing.T, r float64, b int, refused, sends *atomic.Int64) {
	lim := rate.NewLimiter(rate.Limit(r), b)
	n := 0
	for f := range fc.in {
		n++
		if f.Type == "say" || f.Type == "dm" {
			sends.Add(1)
			if !lim.Allow() {
				refused.Add(1)
				fc.sendRaw(t, fmt.Sprintf(`{"type":"error","ref":%q,"code":"rate_limited","message":"slow down"}`, refOfClient(f)))
				continue
			}
		}
		for _, js := range answers(f, n, fc.user) {
			fc.sendRaw(t, js)
		}
	}
}

// numbered returns n input lines, "line 1" to "line n".
func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// Piping more lines than the server's burst: the client paces itself to
// the limit the welcome announced, so every line gets its receipt, none is
// shown as refused, and they show in the order they were piped.
func TestRunLinesPacesToTheAnnouncedLimit(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	fs.extra = `,"msg_rate":50,"msg_burst":10`
	out := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- RunLines(context.Background(), testConfig(fs), strings.NewReader(numbered(100)), out) }()
	var refused, sends atomic.Int64
	go fs.accept().respondLimited(t, 50, 10, &refused, &sends)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunLines = %v; output:\n%s", err, strings.Join(out.all(), "\n"))
		}
	case <-time.After(4 * waitLimit):
		t.Fatal("RunLines did not end")
	}
	if n := out.count("rate_limited"); n != 0 {
		t.Errorf("%d rate_limited lines shown", n)
	}
	var shown []string
	for _, l := range out.all() {
		if _, text, ok := strings.Cut(l, "<alice> "); ok {
			shown = append(shown, text)
		}
	}
	if want := strings.Split(strings.TrimSuffix(numbered(100), "\n"), "\n"); strings.Join(shown, "|") != strings.Join(want, "|") {
		t.Errorf("shown %d lines of 100, in this order: %q", len(shown), shown)
	}
	// Without pacing, 90 of the 100 are refused; a refusal now and then is
	// the jitter the retry is for.
	t.Logf("the server refused %d of %d sends", refused.Load(), sends.Load())
	if r := refused.Load(); r > 20 || sends.Load() != 100+r {
		t.Errorf("the server refused %d sends and read %d: the client did not pace itself", r, sends.Load())
	}
}

// A server that refuses for rate without having announced a limit: the
// refused message is sent again, with its ref and key, instead of being
// shown as refused; the line after it, accepted first, still shows after
// it.
func TestRunLinesResendsWhatWasRateLimited(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	out := newLineWriter()
	done := make(chan error, 1)
	go func() { done <- RunLines(context.Background(), testConfig(fs), strings.NewReader("one\ntwo\n"), out) }()
	fc := fs.accept()
	one, two := fc.expect(t), fc.expect(t)
	fc.sendRaw(t, fmt.Sprintf(`{"type":"error","ref":%q,"code":"rate_limited","message":"slow down"}`, *one.Ref))
	for _, js := range answers(two, 2, "alice") {
		fc.sendRaw(t, js)
	}
	again := fc.expect(t)
	if again.Type != "say" || again.Text != "one" || *again.Ref != *one.Ref || again.Key != one.Key {
		t.Fatalf("after the refusal the client sent %+v, want %+v again", again, one)
	}
	for _, js := range answers(again, 3, "alice") {
		fc.sendRaw(t, js)
	}
	if err := <-done; err != nil {
		t.Fatalf("RunLines = %v, want nil: the message went through in the end", err)
	}
	lines := strings.Join(out.all(), "\n")
	if strings.Contains(lines, "rate_limited") || !strings.Contains(lines, "<alice> one\n12:00:01 <alice> two") {
		t.Errorf("want one, then two, and no refusal shown; output:\n%s", lines)
	}
}

// The pace follows each welcome: none without the fields; the announced
// rate with one token of burst held back; the same bucket while the
// announcement stays the same, as the server's stays with the user.
func TestClientPaceFollowsTheWelcome(t *testing.T) {
	t.Parallel()
	c, err := New(Config{User: "alice"}, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	c.setPace(0, 0)
	if c.limiter() != nil {
		t.Error("paced without an announced limit")
	}
	c.setPace(10, 30)
	first := c.limiter()
	if first == nil || first.Limit() != 10 || first.Burst() != 29 {
		t.Fatalf("pace for 10/s burst 30: %+v", first)
	}
	if c.setPace(10, 30); c.limiter() != first {
		t.Error("the same announcement replaced the bucket")
	}
	if c.setPace(5, 1); c.limiter() == first || c.limiter().Limit() != 5 || c.limiter().Burst() != 1 {
		t.Errorf("pace for 5/s burst 1: %+v", c.limiter())
	}
	if c.setPace(0, 0); c.limiter() != nil {
		t.Error("still paced after a welcome without a limit")
	}
}

// A refusal empties the client's bucket, and more refusals at once do not
// put it in debt: one message a second after a burst of refusals still
// means the next send within a second, not one per refusal later.
func TestRefusalsEmptyTheBucketOnce(t *testing.T) {
	t.Parallel()
	lim := rate.NewLimiter(1, 5)
	for range 10 {
		empty(lim)
	}
	if tokens := lim.Tokens(); tokens < -0.01 || tokens >= 1 {
		t.Errorf("%.2f tokens after ten refusals, want an empty bucket (0 to 1)", tokens)
	}
}
