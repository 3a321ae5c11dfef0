package actors

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// rosterModel is what the roster must behave like: a sorted slice.
type rosterModel struct{ names []string }

func (m *rosterModel) set(name string, online bool) {
	i, found := slices.BinarySearch(m.names, name)
	switch {
	case online && !found:
		m.names = slices.Insert(m.names, i, name)
	case !online && found:
		m.names = slices.Delete(m.names, i, i+1)
	}
}

func (m *rosterModel) page(after string) []string {
	i, found := slices.BinarySearch(m.names, after)
	if found {
		i++
	}
	return m.names[i:min(len(m.names), i+maxListedUsers)]
}

// The roster against the model, under random joins and leaves around the
// edge of the first page; a first page once handed out never changes.
func TestRosterMatchesASortedList(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	r, model := newRoster(), &rosterModel{}
	randomChange := func() {
		name, online := fmt.Sprintf("u%04d", rng.IntN(1500)), rng.IntN(3) > 0
		if online {
			r.add(name)
		} else {
			r.remove(name)
		}
		model.set(name, online)
	}
	for step := range 6000 {
		randomChange()
		first := r.page("")
		if want := model.page(""); !slices.Equal(first, want) {
			t.Fatalf("step %d: first page has %d names, want %d", step, len(first), len(want))
		}
		after := fmt.Sprintf("u%04d", rng.IntN(1500))
		if got, want := r.page(after), model.page(after); !slices.Equal(got, want) {
			t.Fatalf("step %d: page after %s has %d names, want %d", step, after, len(got), len(want))
		}
		if r.len() != len(model.names) {
			t.Fatalf("step %d: len %d, want %d", step, r.len(), len(model.names))
		}
		kept := slices.Clone(first)
		randomChange()
		r.page("")
		if !slices.Equal(first, kept) {
			t.Fatalf("step %d: a first page already handed out changed", step)
		}
	}
}
