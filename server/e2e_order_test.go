package server_test

// docs/protocol.md, "Ordering and delivery", under concurrent senders.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// collect reads frames until it has n messages and, when receipts is not
// nil, want receipts (keyed by ref) in it. It fails on anything but
// messages, presence and receipts, without t, so goroutines may call it.
func collect(c *client, n int, receipts map[string]frame, want int) ([]frame, error) {
	var msgs []frame
	for len(msgs) < n || len(receipts) < want {
		f, err := c.recvFrame(waitFor)
		if err != nil {
			return msgs, fmt.Errorf("after %d messages and %d receipts: %w", len(msgs), len(receipts), err)
		}
		switch {
		case f.Type == "message":
			msgs = append(msgs, f)
		case f.Type == "sent" && receipts != nil && f.Ref != nil:
			receipts[*f.Ref] = f
		case f.Type != "presence":
			return msgs, fmt.Errorf("unexpected %s", f.Raw)
		}
	}
	return msgs, nil
}

func TestE2EPublicOrderUnderConcurrentSenders(t *testing.T) {
	t.Parallel()
	const senders, each, receivers = 8, 50, 4
	const total = senders * each
	e := startServer(t, noRateLimit())
	var all []*client
	for i := range receivers {
		all = append(all, join(t, e, fmt.Sprintf("reader%d", i)))
	}
	for i := range senders {
		all = append(all, join(t, e, fmt.Sprintf("writer%d", i)))
	}

	seqs := make([][]frame, len(all))
	receipts := make([]map[string]frame, len(all))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := 0
			if i >= receivers {
				receipts[i], want = make(map[string]frame, each), each
				<-start
				for j := range each {
					ref := fmt.Sprintf("%03d", j)
					if err := c.write(websocket.TextMessage, sayFrame(c.user+" #"+ref, ref).Encode()); err != nil {
						t.Errorf("%s: %v", c.user, err)
						return
					}
				}
			}
			var err error
			if seqs[i], err = collect(c, total, receipts[i], want); err != nil {
				t.Errorf("%s: %v", c.user, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	ref := seqs[0]
	seen := make(map[string]bool, total)
	last := make(map[string]string) // sender -> last text seen
	for k, m := range ref {
		if seen[m.ID] {
			t.Fatalf("id %s delivered twice", m.ID)
		}
		seen[m.ID] = true
		checkTS(t, "public", m.TS)
		if k > 0 && m.TS < ref[k-1].TS { // same format, so string order is time order
			t.Errorf("stamp went back along the order: %s after %s", m.TS, ref[k-1].TS)
		}
		if prev, ok := last[m.From]; ok && m.Text <= prev {
			t.Errorf("%s's messages out of send order: %q after %q", m.From, m.Text, prev)
		}
		last[m.From] = m.Text
	}
	refIDs := ids(ref)
	for i, seq := range seqs[1:] {
		if !slices.Equal(ids(seq), refIDs) {
			t.Errorf("%s saw another order than %s", all[i+1].user, all[0].user)
		}
	}
	for i := receivers; i < len(all); i++ {
		for _, m := range ref {
			if m.From != all[i].user {
				continue
			}
			r, ok := receipts[i][strings.TrimPrefix(m.Text, all[i].user+" #")]
			if !ok || r.ID != m.ID || r.TS != m.TS {
				t.Errorf("%s: receipt for %q is %s, want id %s ts %s", all[i].user, m.Text, r.Raw, m.ID, m.TS)
			}
		}
	}
}

func ids(fs []frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// TestE2EDirectMessageOrder sends private messages from two senders to one
// recipient as fast as they can: each sender's arrive in the order sent,
// with the ids of their receipts in that order.
func TestE2EDirectMessageOrder(t *testing.T) {
	t.Parallel()
	const each = 100
	e := startServer(t, noRateLimit())
	bob := join(t, e, "bob")
	senders := []*client{join(t, e, "alice"), join(t, e, "carol")}
	expectPresence(t, bob, "alice", true)
	expectPresence(t, bob, "carol", true)
	expectPresence(t, senders[0], "carol", true)

	receipts := make([]map[string]frame, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				ref := fmt.Sprintf("%03d", j)
				if err := s.write(websocket.TextMessage, dmFrame("bob", s.user+" "+ref, ref).Encode()); err != nil {
					t.Errorf("%s: %v", s.user, err)
					return
				}
			}
			receipts[i] = make(map[string]frame, each)
			if _, err := collect(s, 0, receipts[i], each); err != nil {
				t.Errorf("%s: %v", s.user, err)
			}
		}()
	}
	got, err := collect(bob, len(senders)*each, nil, 0)
	wg.Wait()
	if err != nil || t.Failed() {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, m := range got {
		i := slices.IndexFunc(senders, func(c *client) bool { return c.user == m.From })
		if i < 0 || m.Kind != "dm" {
			t.Fatalf("unexpected %s", m.Raw)
		}
		ref := fmt.Sprintf("%03d", next[m.From])
		next[m.From]++
		if want := m.From + " " + ref; m.Text != want {
			t.Fatalf("got %q, want %q: out of send order", m.Text, want)
		}
		if r := receipts[i][ref]; r.ID != m.ID || r.TS != m.TS {
			t.Errorf("%q has id %s ts %s, its receipt %s", m.Text, m.ID, m.TS, r.Raw)
		}
	}
}
