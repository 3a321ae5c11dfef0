package actors

import (
	"github.com/google/btree"
)

// maxListedUsers caps the names in a welcome or who answer (docs/protocol.md).
const maxListedUsers = 1000

// roster is the room's sorted set of online names, for welcome and who.
//
// It is a B-tree: a sorted slice moved half its names on every join, and at
// 15,000 online that shift, with a garbage-collector write barrier for
// every name moved, was 14% of the server's CPU while connections poured in
// (pprof, chatbench -scenario idle -n 15000).
//
// Every welcome lists the same first names, so the first page is built
// once and shared until a name in it comes or goes. Like any message
// content, a shared page is never modified: a change builds a new one.
type roster struct {
	tree  *btree.BTreeG[string]
	front []string // the first page; nil when it must be rebuilt
}

func newRoster() *roster {
	return &roster{tree: btree.NewOrderedG[string](32)}
}

// add adds an online name (again: no change).
func (r *roster) add(name string) {
	if _, had := r.tree.ReplaceOrInsert(name); !had {
		r.touched(name)
	}
}

// remove removes a name that went offline.
func (r *roster) remove(name string) {
	if _, had := r.tree.Delete(name); had {
		r.touched(name)
	}
}

// touched drops the first page if name is, or would be, on it.
func (r *roster) touched(name string) {
	if n := len(r.front); n < maxListedUsers || name <= r.front[n-1] {
		r.front = nil
	}
}

// len returns how many are online.
func (r *roster) len() int { return r.tree.Len() }

// page returns up to maxListedUsers names, sorted, after the given one
// (from the start if it is empty). The first page is shared: read only.
func (r *roster) page(after string) []string {
	if after == "" {
		if r.front == nil {
			r.front = r.collect(after)
		}
		return r.front
	}
	return r.collect(after)
}

func (r *roster) collect(after string) []string {
	names := make([]string, 0, min(r.tree.Len(), maxListedUsers))
	r.tree.AscendGreaterOrEqual(after, func(name string) bool {
		if name != after {
			names = append(names, name)
		}
		return len(names) < maxListedUsers
	})
	return names
}
