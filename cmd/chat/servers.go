package main

import "strings"

// serverList is the -server flag: one or more addresses, comma-separated
// or the flag repeated; without the flag, def (itself a list, from
// CHAT_SERVER or the default).
type serverList struct {
	def  string
	set  []string
	seen bool // the flag was given: def no longer counts
}

// String shows the addresses, comma-separated.
func (s *serverList) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.list(), ",")
}

// Set adds the addresses of one -server flag.
func (s *serverList) Set(v string) error {
	s.seen = true
	s.set = append(s.set, splitServers(v)...)
	return nil
}

// list returns the addresses: those given, or the default's; never empty.
func (s *serverList) list() []string {
	if s.seen && len(s.set) > 0 {
		return s.set
	}
	if d := splitServers(s.def); len(d) > 0 {
		return d
	}
	return []string{""} // the client's default
}

// splitServers splits a comma-separated list, dropping empty items.
func splitServers(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
