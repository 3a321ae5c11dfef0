package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchat/chat/actors/store"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a service over a memory store, with cheap hashing, a fake
// clock and a log of revocations.
type fixture struct {
	svc   *Service
	store *store.Memory
	clock *fakeClock

	mu   sync.Mutex
	revs []Revocation
}

func newFixture(t *testing.T, adjust ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{clock: &fakeClock{now: t0}}
	f.store = store.NewMemory(store.Config{Now: f.clock.Now})
	t.Cleanup(func() { _ = f.store.Close() })
	cfg := Config{Store: f.store, Clock: f.clock.Now, Params: cheap, OnRevoke: f.onRevoke}
	for _, a := range adjust {
		a(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) onRevoke(r Revocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revs = append(f.revs, r)
}

// revocations returns the revocations reported so far and forgets them.
func (f *fixture) revocations() []Revocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.revs
	f.revs = nil
	return out
}

// register registers name, which must succeed.
func (f *fixture) register(t *testing.T, name, password string) Grant {
	t.Helper()
	g, err := f.svc.Register(context.Background(), "192.0.2.1", name, password)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return g
}

// login logs name in from a fixed address.
func (f *fixture) login(name, password string) (Grant, error) {
	return f.svc.Login(context.Background(), "192.0.2.1", name, password)
}

// mustLogin logs name in, which must succeed.
func (f *fixture) mustLogin(t *testing.T, name, password string) Grant {
	t.Helper()
	g, err := f.login(name, password)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return g
}

// valid reports whether token verifies, failing on errors other than
// ErrUnauthorized.
func (f *fixture) valid(t *testing.T, token string) bool {
	t.Helper()
	_, err := f.svc.Verify(token)
	if err != nil && !errors.Is(err, ErrUnauthorized) {
		t.Fatal(err)
	}
	return err == nil
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}

// wantRateLimited checks that err is a *RateLimitedError saying retry.
func wantRateLimited(t *testing.T, what string, err error, retry time.Duration) {
	t.Helper()
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != retry {
		t.Fatalf("%s: %v, want rate limited with retry after %v", what, err, retry)
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := f.register(t, "Alice", "correct horse")
	if g.User != "alice" || !g.Expires.Equal(t0.Add(DefaultTokenTTL)) || g.Expires.Location() != time.UTC {
		t.Fatalf("grant %+v: want user alice, expiring %v (UTC)", g, t0.Add(DefaultTokenTTL))
	}
	if len(g.Token) != 43 || !wellFormed(g.Token) {
		t.Fatalf("token %q is not 43 URL-safe characters", g.Token)
	}
	id, err := f.svc.Verify(g.Token)
	if err != nil || id != (Identity{User: "alice", TokenID: tokenID(g.Token)}) {
		t.Fatalf("Verify = %+v, %v", id, err)
	}

	// Stored: a hash of the password, the hash of the token, the name
	// known to the chat; never the password or the token.
	acct, err := f.store.Account("alice")
	if err != nil || !strings.HasPrefix(acct.PasswordHash, phcPrefix) || strings.Contains(acct.PasswordHash, "correct horse") {
		t.Fatalf("stored account %v, %v", acct, err)
	}
	if acct.CreatedUnixMs != t0.UnixMilli() {
		t.Fatalf("created %d, want %d", acct.CreatedUnixMs, t0.UnixMilli())
	}
	if _, err := f.store.Token(g.Token, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the token itself is a stored id: %v", err)
	}
	if users, _ := f.store.Users(); !slices.Contains(users, "alice") {
		t.Fatalf("users %v: alice is not known to the chat", users)
	}
}

func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(t, "alice", "correct horse")
	cases := []struct {
		name, password string
		want           error
	}{
		{"", "correct horse", ErrInvalidName},
		{"bad name", "correct horse", ErrInvalidName},
		{"-alice", "correct horse", ErrInvalidName},
		{strings.Repeat("a", 33), "correct horse", ErrInvalidName},
		{"bob", "short", ErrWeakPassword},
		{"bob", strings.Repeat("x", 1025), ErrWeakPassword},
		{"bob", "not utf-8 \xff\xfe", ErrWeakPassword},
		{"alice", "another password", ErrNameTaken},
		{"ALICE", "another password", ErrNameTaken},
	}
	for _, c := range cases {
		_, err := f.svc.Register(context.Background(), "192.0.2.1", c.name, c.password)
		wantIs(t, "register "+c.name, err, c.want)
	}
	if list, _ := f.svc.List(); len(list) != 1 {
		t.Fatalf("refused registrations created accounts: %+v", list)
	}

	closed := newFixture(t, func(c *Config) { c.RegistrationClosed = true })
	_, err := closed.svc.Register(context.Background(), "192.0.2.1", "bob", "correct horse")
	wantIs(t, "register with registration closed", err, ErrRegistrationClosed)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	reg := f.register(t, "alice", "correct horse")
	g := f.mustLogin(t, "ALICE", "correct horse")
	if g.User != "alice" || g.Token == reg.Token || !f.valid(t, g.Token) || !f.valid(t, reg.Token) {
		t.Fatalf("login grant %+v: want a second valid token for alice", g)
	}
	for _, c := range []struct{ name, password string }{
		{"alice", "wrong horse"},
		{"nobody", "correct horse"},
		{"bad name", "correct horse"},
		{"alice", "short"},
	} {
		_, err := f.login(c.name, c.password)
		wantIs(t, "login "+c.name+" / "+c.password, err, ErrBadCredentials)
	}
	if err := f.svc.Disable("alice"); err != nil {
		t.Fatal(err)
	}
	_, err := f.login("alice", "correct horse")
	wantIs(t, "login to a disabled account", err, ErrDisabled)
	_, err = f.login("alice", "wrong horse")
	wantIs(t, "wrong password for a disabled account", err, ErrBadCredentials)
}

func TestAddressLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.IPAttempts = 3 })
	ctx := context.Background()
	f.register(t, "alice", "correct horse") // one attempt from 192.0.2.1
	f.mustLogin(t, "alice", "correct horse")
	if _, err := f.login("alice", "wrong horse"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	_, err := f.login("alice", "correct horse")
	wantRateLimited(t, "the 4th attempt in a minute", err, 20*time.Second)
	_, err = f.svc.Register(ctx, "192.0.2.1", "bob", "correct horse")
	wantRateLimited(t, "a registration past the limit", err, 20*time.Second)
	if _, err := f.svc.Login(ctx, "192.0.2.2", "alice", "correct horse"); err != nil {
		t.Fatalf("another address is limited too: %v", err)
	}

	f.clock.Advance(20 * time.Second)
	f.mustLogin(t, "alice", "correct horse")

	// An IPv6 host's whole /64 is one address.
	for i, ip := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"} {
		if _, err := f.svc.Login(ctx, ip, "alice", "correct horse"); err != nil {
			t.Fatalf("attempt %d from the /64: %v", i, err)
		}
	}
	_, err = f.svc.Login(ctx, "2001:db8::ffff", "alice", "correct horse")
	wantRateLimited(t, "a 4th address of the same /64", err, 20*time.Second)

	off := newFixture(t, func(c *Config) { c.IPAttempts = NoLimit })
	off.register(t, "alice", "correct horse")
	for range 100 {
		off.mustLogin(t, "alice", "correct horse")
	}
}

func TestNameLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.IPAttempts = NoLimit })
	f.register(t, "alice", "correct horse")
	for range 20 { // successes do not count
		f.mustLogin(t, "alice", "correct horse")
	}
	for i := range DefaultNameFailures { // from ever new addresses: they count all the same
		_, err := f.svc.Login(context.Background(), fmt.Sprint("198.51.100.", i), "alice", "wrong horse")
		wantIs(t, "a wrong password", err, ErrBadCredentials)
	}
	_, err := f.login("alice", "correct horse")
	wantRateLimited(t, "the right password after 10 failures", err, time.Minute)
	if _, err := f.login("nobody", "wrong horse"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("another name is limited too: %v", err)
	}

	f.clock.Advance(time.Minute)
	f.mustLogin(t, "alice", "correct horse")
}

func TestNameLimitCountsNamesWithoutAccount(t *testing.T) {
	t.Parallel()
	// Otherwise the limit would tell which names exist.
	f := newFixture(t, func(c *Config) { c.IPAttempts = NoLimit })
	for range DefaultNameFailures {
		_, _ = f.login("nobody", "wrong horse")
	}
	_, err := f.login("nobody", "wrong horse")
	wantRateLimited(t, "a name without account past the limit", err, time.Minute)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.register(t, "alice", "correct horse")
	b := f.mustLogin(t, "alice", "correct horse")
	if err := f.svc.Logout(a.Token); err != nil {
		t.Fatal(err)
	}
	if f.valid(t, a.Token) || !f.valid(t, b.Token) {
		t.Fatal("after logout: the token still verifies, or the other one does not")
	}
	if revs := f.revocations(); !slices.Equal(revs, []Revocation{{User: "alice", Scope: RevokeOne, TokenID: tokenID(a.Token)}}) {
		t.Fatalf("revocations %+v", revs)
	}
	wantIs(t, "logout again", f.svc.Logout(a.Token), ErrUnauthorized)
	wantIs(t, "logout with garbage", f.svc.Logout("not a token!"), ErrUnauthorized)
	if revs := f.revocations(); len(revs) != 0 {
		t.Fatalf("refused logouts reported revocations: %+v", revs)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	cur := f.register(t, "alice", "correct horse")
	other := f.mustLogin(t, "alice", "correct horse")

	wantIs(t, "a wrong old password", f.svc.ChangePassword(ctx, cur.Token, "wrong horse", "new password"), ErrBadCredentials)
	wantIs(t, "a weak new password", f.svc.ChangePassword(ctx, cur.Token, "correct horse", "short"), ErrWeakPassword)
	wantIs(t, "a bad token", f.svc.ChangePassword(ctx, "nope", "correct horse", "new password"), ErrUnauthorized)
	if !f.valid(t, other.Token) || len(f.revocations()) != 0 {
		t.Fatal("a refused change revoked something")
	}

	if err := f.svc.ChangePassword(ctx, cur.Token, "correct horse", "new password"); err != nil {
		t.Fatal(err)
	}
	if !f.valid(t, cur.Token) || f.valid(t, other.Token) {
		t.Fatal("after the change: want the token it was made with kept and the other revoked")
	}
	if revs := f.revocations(); !slices.Equal(revs, []Revocation{{User: "alice", Scope: RevokeAllBut, TokenID: tokenID(cur.Token)}}) {
		t.Fatalf("revocations %+v", revs)
	}
	_, err := f.login("alice", "correct horse")
	wantIs(t, "the old password", err, ErrBadCredentials)
	f.mustLogin(t, "alice", "new password")
}

func TestChangePasswordCountsWrongOldPasswords(t *testing.T) {
	t.Parallel()
	// A stolen token must not become a way to guess the password.
	f := newFixture(t)
	g := f.register(t, "alice", "correct horse")
	for range DefaultNameFailures {
		_ = f.svc.ChangePassword(context.Background(), g.Token, "wrong horse", "new password")
	}
	err := f.svc.ChangePassword(context.Background(), g.Token, "correct horse", "new password")
	wantRateLimited(t, "a change after 10 wrong old passwords", err, time.Minute)
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.TokenTTL = time.Hour })
	g := f.register(t, "alice", "correct horse")
	for _, bad := range []string{"", "has space", "dot.ted", g.Token + "=", strings.Repeat("a", 513), "Bearer " + g.Token} {
		if _, err := f.svc.Verify(bad); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("Verify(%.20q): %v", bad, err)
		}
	}
	f.clock.Advance(time.Hour - time.Millisecond)
	if !f.valid(t, g.Token) {
		t.Fatal("refused before its expiry")
	}
	f.clock.Advance(time.Millisecond)
	if f.valid(t, g.Token) {
		t.Fatal("valid at its expiry")
	}
}

func TestBadCredentialsCostOneHashEitherWay(t *testing.T) {
	t.Parallel()
	// "No such name" and "wrong password" must take about the same time:
	// both hash once, with the same parameters. (BenchmarkBadCredentials
	// measures the times.)
	f := newFixture(t, func(c *Config) { c.IPAttempts = NoLimit })
	f.register(t, "alice", "correct horse")
	for _, name := range []string{"alice", "nobody"} {
		before := f.svc.HashStats().Done
		_, err := f.login(name, "wrong horse")
		wantIs(t, "login "+name, err, ErrBadCredentials)
		if n := f.svc.HashStats().Done - before; n != 1 {
			t.Errorf("login %s with a wrong password hashed %d times, want 1", name, n)
		}
	}
	dummy, _, _, err := parsePHC(f.svc.dummy)
	acct, _ := f.store.Account("alice")
	actual, _, _, _ := parsePHC(acct.PasswordHash)
	if err != nil || dummy != actual {
		t.Fatalf("the dummy hash's parameters %+v differ from an account's %+v (%v)", dummy, actual, err)
	}
}

// BenchmarkBadCredentials times a refused login for a name with an
// account and for one without, with the default parameters: the two must
// be about equal.
func BenchmarkBadCredentials(b *testing.B) {
	st := store.NewMemory(store.Config{})
	defer func() { _ = st.Close() }()
	svc, err := New(Config{Store: st, IPAttempts: NoLimit, NameFailures: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Create(context.Background(), "alice", "correct horse"); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"alice", "nobody"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Login(context.Background(), "192.0.2.1", name, "wrong horse"); !errors.Is(err, ErrBadCredentials) {
					b.Fatal(err)
				}
			}
		})
	}
}
