package auth

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestLimiterBurstThenRate(t *testing.T) {
	t.Parallel()
	l := newLimiter(10, 10*time.Minute, 100)
	for i := range 10 {
		if _, ok := l.take("alice", t0); !ok {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	wait, ok := l.take("alice", t0)
	if ok || wait != time.Minute {
		t.Fatalf("11th event: ok=%v retry after %v; want refused, 1m", ok, wait)
	}
	if _, ok := l.take("bob", t0); !ok {
		t.Fatal("another key is limited too")
	}
	if wait, ok := l.take("alice", t0.Add(59*time.Second)); ok || wait != time.Second {
		t.Fatalf("just before the retry time: ok=%v retry after %v", ok, wait)
	}
	if _, ok := l.take("alice", t0.Add(time.Minute)); !ok {
		t.Fatal("refused at the retry time")
	}
	// After a whole window the burst is back.
	later := t0.Add(11 * time.Minute)
	for i := range 10 {
		if _, ok := l.take("alice", later); !ok {
			t.Fatalf("event %d of the burst after the window refused", i)
		}
	}
}

func TestLimiterGiveBack(t *testing.T) {
	t.Parallel()
	l := newLimiter(2, time.Minute, 100)
	for range 5 {
		if _, ok := l.take("alice", t0); !ok {
			t.Fatal("refused although every event was given back")
		}
		l.give("alice", t0)
	}
	if n := l.size(); n != 0 {
		t.Fatalf("%d keys remembered after everything was given back", n)
	}
}

func TestLimiterNilAllowsEverything(t *testing.T) {
	t.Parallel()
	l := newLimiter(0, time.Minute, 100)
	for range 1000 {
		if _, ok := l.take("x", t0); !ok {
			t.Fatal("a limit of 0 refused")
		}
	}
	l.give("x", t0)
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	const maxKeys = 64
	l := newLimiter(3, time.Minute, maxKeys)
	for i := range 10_000 {
		l.take(fmt.Sprint("attacker-", i), t0) // all active at once
		if n := l.size(); n > maxKeys {
			t.Fatalf("%d keys remembered after %d, bound %d", n, i+1, maxKeys)
		}
	}
	// Keys whose allowance is full again go first: a new key after the
	// window keeps every key that is still limited.
	l = newLimiter(1, time.Minute, maxKeys)
	for i := range maxKeys - 1 {
		l.take(fmt.Sprint("old-", i), t0)
	}
	l.take("limited", t0.Add(2*time.Minute))
	l.take("newcomer", t0.Add(2*time.Minute))
	if _, ok := l.take("limited", t0.Add(2*time.Minute)); ok {
		t.Fatal("a limited key was forgotten while idle keys could go")
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
		"2001:db8:1:3:3:4:5:6": "2001:db8:1:3::/64",
	}
	for in, want := range cases {
		if got := ipKey(in); got != want {
			t.Errorf("ipKey(%q) = %q, want %q", in, got, want)
		}
	}
}
