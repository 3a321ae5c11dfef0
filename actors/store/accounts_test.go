package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/chatpb"
)

// The accounts part of the conformance suite (storetest_test.go): every
// Accounts implementation must pass each test.

// openAccounts opens a store for a test, as Store and Accounts, on clock
// (Unix ms).
func openAccounts(open func(Config) Store, clock *atomic.Int64) interface {
	Store
	Accounts
} {
	s := open(Config{Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	return s.(interface {
		Store
		Accounts
	})
}

func account(name, hash string) *chatpb.Account {
	return &chatpb.Account{Name: name, PasswordHash: hash, CreatedUnixMs: 42}
}

func token(id, user string, exp int64) *chatpb.TokenRecord {
	return &chatpb.TokenRecord{Id: id, User: user, CreatedUnixMs: 7, ExpiresUnixMs: exp}
}

// tokenIDs lists user's tokens alive at nowMs, sorted.
func tokenIDs(t testing.TB, s Accounts, user string, nowMs int64) []string {
	t.Helper()
	recs, err := s.Tokens(user, nowMs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Id)
	}
	slices.Sort(out)
	return out
}

// hasToken reports whether the token id is readable at nowMs.
func hasToken(t testing.TB, s Accounts, id string, nowMs int64) bool {
	t.Helper()
	_, err := s.Token(id, nowMs)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// wantErr checks that a write fails with target.
func wantErr(t testing.TB, what string, target error, write func(done func(error))) {
	t.Helper()
	if err := do(t, write); !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}

func TestAccountCreateAndRead(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		if _, err := s.Account("alice"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Account of an empty store: %v, want ErrNotFound", err)
		}
		for _, name := range []string{"carol", "alice", "bob"} {
			must(t, func(done func(error)) { s.CreateAccount(account(name, "h-"+name), done) })
		}
		a, err := s.Account("alice")
		if err != nil || a.Name != "alice" || a.PasswordHash != "h-alice" || a.CreatedUnixMs != 42 || a.Disabled {
			t.Fatalf("Account(alice) = %v, %v", a, err)
		}
		list, err := s.ListAccounts()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range list {
			names = append(names, a.Name)
		}
		want(t, "accounts, by name", names, []string{"alice", "bob", "carol"})
		want(t, "an account is a known user", sortedUsers(t, s), []string{"alice", "bob", "carol"})

		a.PasswordHash = "changed through the copy"
		if again, _ := s.Account("alice"); again.PasswordHash != "h-alice" {
			t.Fatalf("stored account changed through a caller's pointer: %v", again)
		}
	})
}

// Accounts list in the byte order of their names, whatever a database's
// own collation would say: the operator's listing is the same on every
// store.
func TestListAccountsByteOrder(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		names := []string{"a_b", "ab", "a-b", "b", "a.b", "_z", "a0", "a"}
		for _, name := range names {
			must(t, func(done func(error)) { s.CreateAccount(account(name, "h"), done) })
		}
		list, err := s.ListAccounts()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.Name)
		}
		want(t, "accounts", got, slices.Sorted(slices.Values(names)))
	})
}

func TestAccountNameTaken(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		must(t, func(done func(error)) { s.CreateAccount(account("alice", "first"), done) })
		wantErr(t, "a second alice", ErrExists, func(done func(error)) { s.CreateAccount(account("alice", "second"), done) })
		if a, _ := s.Account("alice"); a.PasswordHash != "first" {
			t.Fatalf("the refused create changed the account: %v", a)
		}
		// A name known to the chat but without an account may register.
		must(t, func(done func(error)) { s.AddUser("bob", done) })
		must(t, func(done func(error)) { s.CreateAccount(account("bob", "h"), done) })
	})
}

func TestAccountConcurrentCreatesOneWins(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		const racers = 16
		var wins, taken atomic.Int32
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				err := do(t, func(done func(error)) { s.CreateAccount(account("alice", fmt.Sprint("h", i)), done) })
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrExists):
					taken.Add(1)
				default:
					t.Errorf("create %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || taken.Load() != racers-1 {
			t.Fatalf("%d creates won and %d found the name taken, want 1 and %d", wins.Load(), taken.Load(), racers-1)
		}
	})
}

func TestAccountInvalidWritesFail(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		writes := map[string]func(done func(error)){
			"account without name":     func(done func(error)) { s.CreateAccount(account("", "h"), done) },
			"account without hash":     func(done func(error)) { s.CreateAccount(account("alice", ""), done) },
			"nil account":              func(done func(error)) { s.CreateAccount(nil, done) },
			"token without id":         func(done func(error)) { s.PutToken(token("", "alice", 100), "h", done) },
			"token without user":       func(done func(error)) { s.PutToken(token("t", "", 100), "h", done) },
			"password change, no hash": func(done func(error)) { s.SetPassword(PasswordChange{Name: "alice"}, done) },
			"password change, no name": func(done func(error)) { s.SetPassword(PasswordChange{Hash: "h"}, done) },
		}
		for what, w := range writes {
			if err := do(t, w); err == nil {
				t.Errorf("%s: succeeded", what)
			}
		}
		list, err := s.ListAccounts()
		if err != nil || len(list) != 0 {
			t.Fatalf("accounts after refused writes: %v, %v", list, err)
		}
	})
}

func TestPutTokenChecksTheAccount(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		wantErr(t, "a token without account", ErrNotFound, func(done func(error)) { s.PutToken(token("t0", "alice", 100), "h1", done) })
		must(t, func(done func(error)) { s.CreateAccount(account("alice", "h1"), done) })
		wantErr(t, "a token verified against an old password", ErrStale,
			func(done func(error)) { s.PutToken(token("t1", "alice", 100), "h0", done) })
		must(t, func(done func(error)) { s.PutToken(token("t2", "alice", 100), "h1", done) })
		must(t, func(done func(error)) { s.SetDisabled("alice", true, done) })
		wantErr(t, "a token for a disabled account", ErrStale,
			func(done func(error)) { s.PutToken(token("t3", "alice", 100), "h1", done) })
		want(t, "alice's tokens", tokenIDs(t, s, "alice", 0), nil)

		r, err := s.Token("t0", 0)
		if !errors.Is(err, ErrNotFound) || r != nil {
			t.Fatalf("a refused token was stored: %v, %v", r, err)
		}
	})
}

func TestTokenReadAndExpiry(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		must(t, func(done func(error)) { s.CreateAccount(account("alice", "h"), done) })
		must(t, func(done func(error)) { s.CreateAccount(account("bob", "h"), done) })
		put := func(id, user string, exp int64) {
			t.Helper()
			must(t, func(done func(error)) { s.PutToken(token(id, user, exp), "h", done) })
		}
		put("a1", "alice", 100)
		put("a2", "alice", 200)
		put("b1", "bob", 150)

		r, err := s.Token("a1", 50)
		if err != nil || r.User != "alice" || r.CreatedUnixMs != 7 || r.ExpiresUnixMs != 100 {
			t.Fatalf("Token(a1) = %v, %v", r, err)
		}
		if hasToken(t, s, "a1", 100) {
			t.Fatal("a token is readable at its expiry")
		}
		want(t, "alice's tokens at 50", tokenIDs(t, s, "alice", 50), []string{"a1", "a2"})
		want(t, "alice's tokens at 100", tokenIDs(t, s, "alice", 100), []string{"a2"})
		want(t, "nobody's tokens", tokenIDs(t, s, "nobody", 0), nil)

		// A token write prunes every expired token, anyone's: asking as of
		// time 0 shows what is still stored.
		clock.Store(160)
		put("a3", "alice", 500)
		want(t, "alice's stored tokens after pruning at 160", tokenIDs(t, s, "alice", 0), []string{"a2", "a3"})
		want(t, "bob's stored tokens after pruning at 160", tokenIDs(t, s, "bob", 0), nil)
	})
}

func TestDeleteTokens(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		for _, name := range []string{"alice", "bob"} {
			must(t, func(done func(error)) { s.CreateAccount(account(name, "h"), done) })
			for i := range 3 {
				must(t, func(done func(error)) { s.PutToken(token(fmt.Sprint(name, i), name, 1000), "h", done) })
			}
		}
		must(t, func(done func(error)) { s.DeleteToken("alice0", done) })
		must(t, func(done func(error)) { s.DeleteToken("unknown", done) })
		want(t, "alice's tokens after deleting one", tokenIDs(t, s, "alice", 0), []string{"alice1", "alice2"})
		if hasToken(t, s, "alice0", 0) {
			t.Fatal("a deleted token is still readable")
		}

		must(t, func(done func(error)) { s.DeleteTokens("alice", "alice2", done) })
		want(t, "alice's tokens after deleting all but one", tokenIDs(t, s, "alice", 0), []string{"alice2"})
		must(t, func(done func(error)) { s.DeleteTokens("alice", "", done) })
		want(t, "alice's tokens after deleting all", tokenIDs(t, s, "alice", 0), nil)
		want(t, "bob keeps his tokens", tokenIDs(t, s, "bob", 0), []string{"bob0", "bob1", "bob2"})
		must(t, func(done func(error)) { s.DeleteTokens("nobody", "", done) })
	})
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		must(t, func(done func(error)) { s.CreateAccount(account("alice", "h1"), done) })
		for _, id := range []string{"t1", "t2", "t3"} {
			must(t, func(done func(error)) { s.PutToken(token(id, "alice", 1000), "h1", done) })
		}
		wantErr(t, "a change expecting another hash", ErrStale, func(done func(error)) {
			s.SetPassword(PasswordChange{Name: "alice", Hash: "h2", Expect: "h0", KeepToken: "t1"}, done)
		})
		want(t, "tokens after a stale change", tokenIDs(t, s, "alice", 0), []string{"t1", "t2", "t3"})

		must(t, func(done func(error)) {
			s.SetPassword(PasswordChange{Name: "alice", Hash: "h2", Expect: "h1", KeepToken: "t2"}, done)
		})
		want(t, "tokens after the user's change", tokenIDs(t, s, "alice", 0), []string{"t2"})
		if a, _ := s.Account("alice"); a.PasswordHash != "h2" {
			t.Fatalf("hash after the change: %q", a.PasswordHash)
		}

		must(t, func(done func(error)) { s.SetPassword(PasswordChange{Name: "alice", Hash: "h3"}, done) })
		want(t, "tokens after the operator's reset", tokenIDs(t, s, "alice", 0), nil)
		wantErr(t, "a change of an unknown account", ErrNotFound,
			func(done func(error)) { s.SetPassword(PasswordChange{Name: "bob", Hash: "h"}, done) })

		must(t, func(done func(error)) { s.SetDisabled("alice", true, done) })
		wantErr(t, "the user's change of a disabled account", ErrStale, func(done func(error)) {
			s.SetPassword(PasswordChange{Name: "alice", Hash: "h4", Expect: "h3"}, done)
		})
	})
}

func TestSetDisabled(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		must(t, func(done func(error)) { s.CreateAccount(account("alice", "h"), done) })
		must(t, func(done func(error)) { s.PutToken(token("t1", "alice", 1000), "h", done) })
		must(t, func(done func(error)) { s.SetDisabled("alice", true, done) })
		if a, _ := s.Account("alice"); !a.Disabled {
			t.Fatal("alice is not disabled")
		}
		want(t, "tokens of a disabled account", tokenIDs(t, s, "alice", 0), nil)

		must(t, func(done func(error)) { s.SetDisabled("alice", false, done) })
		if a, _ := s.Account("alice"); a.Disabled || a.PasswordHash != "h" {
			t.Fatalf("after enabling: %v", a)
		}
		must(t, func(done func(error)) { s.PutToken(token("t2", "alice", 1000), "h", done) })
		wantErr(t, "disabling an unknown account", ErrNotFound, func(done func(error)) { s.SetDisabled("bob", true, done) })
	})
}

func TestAccountsClosed(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, open func(Config) Store) {
		var clock atomic.Int64
		s := openAccounts(open, &clock)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		writes := map[string]func(done func(error)){
			"CreateAccount": func(done func(error)) { s.CreateAccount(account("alice", "h"), done) },
			"SetPassword":   func(done func(error)) { s.SetPassword(PasswordChange{Name: "alice", Hash: "h"}, done) },
			"SetDisabled":   func(done func(error)) { s.SetDisabled("alice", true, done) },
			"PutToken":      func(done func(error)) { s.PutToken(token("t", "alice", 100), "h", done) },
			"DeleteToken":   func(done func(error)) { s.DeleteToken("t", done) },
			"DeleteTokens":  func(done func(error)) { s.DeleteTokens("alice", "", done) },
		}
		for name, w := range writes {
			if err := do(t, w); !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", name, err)
			}
		}
		reads := map[string]func() error{
			"Account":      func() error { _, err := s.Account("alice"); return err },
			"ListAccounts": func() error { _, err := s.ListAccounts(); return err },
			"Token":        func() error { _, err := s.Token("t", 0); return err },
			"Tokens":       func() error { _, err := s.Tokens("alice", 0); return err },
		}
		for name, r := range reads {
			if err := r(); !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", name, err)
			}
		}
	})
}
