package server

import (
	"net/http"
	"testing"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
		viaProxy     bool
	}{
		{"a direct client's header is ignored", "203.0.113.5:4000", []string{"1.1.1.1"}, "203.0.113.5", false},
		{"behind a proxy: the right-most address", "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9", true},
		{"what the client wrote, left of it, is ignored", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9", true},
		{"past a chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.9, 10.9.9.9", "192.0.2.7"}, "198.51.100.9", true},
		{"a single trusted address", "192.0.2.7:1", []string{"198.51.100.1"}, "198.51.100.1", true},
		{"no header: the proxy itself", "10.1.2.3:80", nil, "10.1.2.3", true},
		{"all trusted: the left-most", "10.1.2.3:80", []string{"10.7.7.7"}, "10.7.7.7", true},
		{"garbage stops the walk at the last trusted", "10.1.2.3:80", []string{"1.2.3.4, bogus, 10.7.7.7"}, "10.7.7.7", true},
		{"an entry with a port", "10.1.2.3:80", []string{"198.51.100.9:5555"}, "198.51.100.9", true},
		{"IPv6 in brackets", "[fd00::1]:80", []string{"[2001:db8::5]"}, "2001:db8::5", true},
		{"an IPv4-mapped peer is IPv4", "[::ffff:203.0.113.5]:4000", nil, "203.0.113.5", false},
		{"not TCP", "@", nil, "@", false},
	}
	for _, c := range cases {
		h := http.Header{}
		for _, v := range c.xff {
			h.Add("X-Forwarded-For", v)
		}
		ip, via := proxies.clientIP(c.remote, h)
		if ip != c.want || via != c.viaProxy {
			t.Errorf("%s: %q, via proxy %v; want %q, %v", c.name, ip, via, c.want, c.viaProxy)
		}
	}
	if ip, _ := TrustedProxies(nil).clientIP("10.1.2.3:80", http.Header{"X-Forwarded-For": {"1.1.1.1"}}); ip != "10.1.2.3" {
		t.Errorf("no proxies trusted: %q, want the peer", ip)
	}
}

func TestParseTrustedProxiesRefusesWhatIsNotAnAddress(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1-10.0.0.9"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if p, err := ParseTrustedProxies(" , "); err != nil || len(p) != 0 {
		t.Errorf("blank list: %v, %v; want none", p, err)
	}
}
