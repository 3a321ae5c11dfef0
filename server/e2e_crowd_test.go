package server_test

// docs/protocol.md: lists of users are capped at 1000 names and paged with
// "after"; presence notices stop in a crowd larger than the presence limit.

import (
	"fmt"
	"slices"
	"testing"

	"github.com/actorchat/chat/actors"
)

func TestE2EPresenceStopsAbovePresenceLimit(t *testing.T) {
	t.Parallel()
	e := startServer(t, withActors(func(c *actors.Config) { c.PresenceLimit = 2 }))
	a := join(t, e, "a")
	join(t, e, "b")
	expectPresence(t, a, "b", true) // 2 online: still told
	c := join(t, e, "c")            // 3 online: not told
	if u := a.who(t, "", "w"); u.Online != 3 {
		t.Fatalf("who: %s, want 3 online", u.Raw)
	}
	c.leave(t) // back to 2 online
	expectPresence(t, a, "c", false)
}

// TestE2EUserListsAreCappedAndPaged connects 1002 users: the welcome and a
// who answer list the first 1000 names, sorted, with the full count, and
// "after" pages on to the rest.
func TestE2EUserListsAreCappedAndPaged(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("connects 1002 clients")
	}
	const crowd = 1001
	e := startServer(t, withActors(func(c *actors.Config) { c.PresenceLimit = 1 }))
	names := make([]string, 0, crowd+1)
	for i := range crowd {
		name := fmt.Sprintf("u%04d", i)
		dial(t, e, name, withoutReader()) // its welcome waits unread
		names = append(names, name)
	}
	last := join(t, e, "zz") // sorts last: not in the first page
	names = append(names, "zz")
	var page frame
	eventually(t, "the crowd to be online", func() bool {
		page = last.who(t, "", "p1")
		return page.Online == crowd+1
	})
	if !slices.Equal(page.Users, names[:1000]) {
		t.Errorf("who: %d names (%v...), want the first 1000, sorted", len(page.Users), page.Users[:min(3, len(page.Users))])
	}
	rest := last.who(t, names[999], "p2")
	if rest.Online != crowd+1 || !slices.Equal(rest.Users, names[1000:]) {
		t.Errorf("who after %s: %s, want %v", names[999], rest.Raw, names[1000:])
	}
	w := dial(t, e, "zzz").expect(t, "welcome")
	if w.User != "zzz" || w.Online != crowd+2 || !slices.Equal(w.Users, names[:1000]) {
		t.Errorf("welcome in a crowd: user %q, online %d, %d names, want zzz, %d, the first 1000", w.User, w.Online, len(w.Users), crowd+2)
	}
}
