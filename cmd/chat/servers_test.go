package main

import (
	"slices"
	"testing"
)

// -server takes several addresses, comma-separated or repeated; without
// it, CHAT_SERVER (itself a list) or the client's default.
func TestServerList(t *testing.T) {
	t.Parallel()
	cases := []struct {
		def  string
		sets []string
		want []string
	}{
		{"", nil, []string{""}},
		{"ws://a", nil, []string{"ws://a"}},
		{"ws://a, ws://b", nil, []string{"ws://a", "ws://b"}},
		{"ws://env", []string{"ws://a,ws://b", "ws://c"}, []string{"ws://a", "ws://b", "ws://c"}},
	}
	for _, c := range cases {
		s := &serverList{def: c.def}
		for _, v := range c.sets {
			if err := s.Set(v); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.list(); !slices.Equal(got, c.want) {
			t.Errorf("default %q, flags %q: %q, want %q", c.def, c.sets, got, c.want)
		}
	}
}
