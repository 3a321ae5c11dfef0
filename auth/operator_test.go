package auth

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestOperatorCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.RegistrationClosed = true })
	ctx := context.Background()
	user, err := f.svc.Create(ctx, "Carol", "correct horse")
	if err != nil || user != "carol" {
		t.Fatalf("Create = %q, %v", user, err)
	}
	f.mustLogin(t, "carol", "correct horse")
	_, err = f.svc.Create(ctx, "carol", "correct horse")
	wantIs(t, "create a taken name", err, ErrNameTaken)
	_, err = f.svc.Create(ctx, "bad name", "correct horse")
	wantIs(t, "create an invalid name", err, ErrInvalidName)
	_, err = f.svc.Create(ctx, "dave", "short")
	wantIs(t, "create with a weak password", err, ErrWeakPassword)
}

func TestOperatorResetPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.register(t, "alice", "correct horse")
	b := f.mustLogin(t, "alice", "correct horse")
	if err := f.svc.ResetPassword(ctx, "Alice", "reset password"); err != nil {
		t.Fatal(err)
	}
	if f.valid(t, a.Token) || f.valid(t, b.Token) {
		t.Fatal("a token survived the reset")
	}
	if revs := f.revocations(); !slices.Equal(revs, []Revocation{{User: "alice", Scope: RevokeAll}}) {
		t.Fatalf("revocations %+v", revs)
	}
	f.mustLogin(t, "alice", "reset password")
	wantIs(t, "reset an unknown account", f.svc.ResetPassword(ctx, "nobody", "reset password"), ErrNoAccount)
	wantIs(t, "reset to a weak password", f.svc.ResetPassword(ctx, "alice", "short"), ErrWeakPassword)
	wantIs(t, "reset an invalid name", f.svc.ResetPassword(ctx, "a b", "reset password"), ErrInvalidName)
}

func TestOperatorDisableEnable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := f.register(t, "alice", "correct horse")
	if err := f.svc.Disable("alice"); err != nil {
		t.Fatal(err)
	}
	if f.valid(t, g.Token) {
		t.Fatal("a token survived disabling")
	}
	if revs := f.revocations(); !slices.Equal(revs, []Revocation{{User: "alice", Scope: RevokeAll}}) {
		t.Fatalf("revocations %+v", revs)
	}
	_, err := f.login("alice", "correct horse")
	wantIs(t, "login while disabled", err, ErrDisabled)
	if err := f.svc.Enable("alice"); err != nil {
		t.Fatal(err)
	}
	f.mustLogin(t, "alice", "correct horse")
	if revs := f.revocations(); len(revs) != 0 {
		t.Fatalf("enabling reported revocations: %+v", revs)
	}
	wantIs(t, "disable an unknown account", f.svc.Disable("nobody"), ErrNoAccount)
	wantIs(t, "enable an unknown account", f.svc.Enable("nobody"), ErrNoAccount)
	wantIs(t, "disable an invalid name", f.svc.Disable("a b"), ErrInvalidName)
}

func TestOperatorRevokeAndList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.register(t, "alice", "correct horse")
	f.mustLogin(t, "alice", "correct horse")
	f.clock.Advance(time.Second)
	f.register(t, "bob", "correct horse")
	if err := f.svc.Disable("bob"); err != nil {
		t.Fatal(err)
	}

	list, err := f.svc.List()
	want := []AccountInfo{
		{Name: "alice", Created: t0, Tokens: 2},
		{Name: "bob", Created: t0.Add(time.Second), Disabled: true},
	}
	if err != nil || !slices.Equal(list, want) {
		t.Fatalf("List = %+v, %v; want %+v", list, err, want)
	}

	f.revocations()
	if err := f.svc.RevokeAll("alice"); err != nil {
		t.Fatal(err)
	}
	if f.valid(t, a.Token) {
		t.Fatal("a token survived RevokeAll")
	}
	if revs := f.revocations(); !slices.Equal(revs, []Revocation{{User: "alice", Scope: RevokeAll}}) {
		t.Fatalf("revocations %+v", revs)
	}
	f.mustLogin(t, "alice", "correct horse") // the account stays enabled
	wantIs(t, "revoke for an unknown account", f.svc.RevokeAll("nobody"), ErrNoAccount)
}

func TestRevocationCovers(t *testing.T) {
	t.Parallel()
	one := Revocation{User: "alice", Scope: RevokeOne, TokenID: "t1"}
	all := Revocation{User: "alice", Scope: RevokeAll}
	allBut := Revocation{User: "alice", Scope: RevokeAllBut, TokenID: "t1"}
	cases := []struct {
		r    Revocation
		id   Identity
		want bool
	}{
		{one, Identity{User: "alice", TokenID: "t1"}, true},
		{one, Identity{User: "alice", TokenID: "t2"}, false},
		{one, Identity{User: "bob", TokenID: "t1"}, false},
		{all, Identity{User: "alice", TokenID: "t2"}, true},
		{all, Identity{User: "bob", TokenID: "t2"}, false},
		{allBut, Identity{User: "alice", TokenID: "t1"}, false},
		{allBut, Identity{User: "alice", TokenID: "t2"}, true},
		{allBut, Identity{User: "bob", TokenID: "t2"}, false},
		{Revocation{User: "alice"}, Identity{User: "alice", TokenID: "t1"}, false},
	}
	for _, c := range cases {
		if got := c.r.Covers(c.id); got != c.want {
			t.Errorf("%+v covers %+v = %v, want %v", c.r, c.id, got, c.want)
		}
	}
}
