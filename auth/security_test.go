package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Tests of the attacks the service must withstand.

func TestGuessedTokensFail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := f.register(t, "alice", "correct horse")
	for range 1000 {
		guess, _ := newToken()
		if f.valid(t, guess) {
			t.Fatal("a random token verified")
		}
	}
	// Near misses: one character changed, a prefix, the token's id.
	last := g.Token[len(g.Token)-1]
	flipped := g.Token[:len(g.Token)-1] + string("AB"[boolIndex(last == 'A')])
	for _, near := range []string{flipped, g.Token[:42], tokenID(g.Token)} {
		if f.valid(t, near) {
			t.Fatalf("%q verified, near alice's token", near)
		}
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestATokenSpeaksOnlyForItsUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.register(t, "alice", "alice's password")
	f.register(t, "bob", "bob's password")
	id, err := f.svc.Verify(a.Token)
	if err != nil || id.User != "alice" {
		t.Fatalf("alice's token verifies as %+v, %v", id, err)
	}
	// alice's token with bob's password changes nothing of bob's.
	err = f.svc.ChangePassword(context.Background(), a.Token, "bob's password", "taken over")
	wantIs(t, "changing a password with another user's", err, ErrBadCredentials)
	f.mustLogin(t, "bob", "bob's password")
	f.mustLogin(t, "alice", "alice's password")
}

func TestRevokedTokensStayRevoked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.IPAttempts = NoLimit })
	ctx := context.Background()
	f.register(t, "alice", "correct horse")
	revokers := map[string]func(token string) error{
		"logout": f.svc.Logout,
		"password change": func(string) error {
			cur := f.mustLogin(t, "alice", "correct horse")
			if err := f.svc.ChangePassword(ctx, cur.Token, "correct horse", "new password"); err != nil {
				return err
			}
			return f.svc.ResetPassword(ctx, "alice", "correct horse") // for the next case
		},
		"disable": func(string) error {
			if err := f.svc.Disable("alice"); err != nil {
				return err
			}
			return f.svc.Enable("alice")
		},
		"reset":  func(string) error { return f.svc.ResetPassword(ctx, "alice", "correct horse") },
		"revoke": func(string) error { return f.svc.RevokeAll("alice") },
	}
	for what, revoke := range revokers {
		g := f.mustLogin(t, "alice", "correct horse")
		if err := revoke(g.Token); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if f.valid(t, g.Token) {
			t.Errorf("a token verifies after %s", what)
		}
		wantIs(t, "logout after "+what, f.svc.Logout(g.Token), ErrUnauthorized)
		err := f.svc.ChangePassword(ctx, g.Token, "correct horse", "new password")
		wantIs(t, "password change after "+what, err, ErrUnauthorized)
	}
}

func TestLoginFloodIsRefusedNotQueued(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.IPAttempts = NoLimit; c.HashWorkers = 1; c.HashQueue = 2 })
	f.register(t, "alice", "correct horse")
	// Hold the only slot, as a slow hash would.
	release := make(chan struct{})
	held := blockedRun(f.svc.pool, context.Background(), false, release)
	waitUntil(t, "the slot held", func() bool { return f.svc.HashStats().InFlight == 1 })

	const flood = 50
	errs := make(chan error, flood)
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() {
			_, err := f.svc.Login(context.Background(), fmt.Sprint("203.0.113.", i), fmt.Sprint("user", i), "wrong horse")
			errs <- err
		})
	}
	// All but the queue's two are refused at once, while the slot is held.
	busy := 0
	for busy < flood-2 {
		if err := <-errs; !errors.Is(err, ErrBusy) {
			t.Fatalf("a login while the pool is full: %v, want ErrBusy", err)
		}
		busy++
	}
	if st := f.svc.HashStats(); st.Queued != 2 || st.InFlight != 1 || st.Refused != flood-2 {
		t.Fatalf("stats under the flood: %+v", st)
	}
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wantIs(t, "a queued login", <-errs, ErrBadCredentials)
	}
	f.mustLogin(t, "alice", "correct horse")
}
