package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Who the client is, for every limit that counts per client (connections,
// the accounts API's attempts, the publish budget): the address of the TCP
// peer, unless that peer is a reverse proxy the operator trusts
// (Config.TrustedProxies). Behind one, every client would share the
// proxy's address, so the client is whom the proxies say it is: the
// right-most address of X-Forwarded-For that is not itself a trusted
// proxy. Each proxy appends the address it was connected from, so that
// address was written by a proxy we trust; everything to its left came from
// the client and could say anything. From a peer that is not trusted the
// header is ignored: anyone can send one.
//
// clientIP is the one function that decides it; the listener, which has no
// request yet, asks it with no header, and learns the peer's address and
// whether it is a trusted proxy.

// TrustedProxies is a set of networks whose connections come from reverse
// proxies that append the address of their own client to
// X-Forwarded-For.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes
// (10.0.0.0/8, fd00::/8) or single addresses; "" is none.
func ParseTrustedProxies(list string) (TrustedProxies, error) {
	var p TrustedProxies
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", s)
			}
			pfx = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		p = append(p, pfx.Masked())
	}
	return p, nil
}

// trusts reports whether addr is one of the proxies.
func (p TrustedProxies) trusts(addr netip.Addr) bool {
	for _, pfx := range p {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// clientIP returns the client's address for a connection from remoteAddr
// (host:port) with header h (nil before a request is read), and whether
// the TCP peer is a trusted proxy. An address that does not parse (not
// TCP) is returned as it is.
func (p TrustedProxies) clientIP(remoteAddr string, h http.Header) (ip string, viaProxy bool) {
	peer, ok := parseAddr(remoteAddr)
	if !ok {
		return remoteAddr, false
	}
	if !p.trusts(peer) {
		return peer.String(), false
	}
	return p.forwardedFor(peer, h).String(), true
}

// forwardedFor walks X-Forwarded-For from the right, past the trusted
// proxies, and returns the first address that is not one. An entry that
// does not parse ends the walk at the last trusted address: a trusted
// proxy wrote no such thing, so nothing left of it can be believed.
func (p TrustedProxies) forwardedFor(peer netip.Addr, h http.Header) netip.Addr {
	client := peer
	values := h.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			addr, ok := parseAddr(strings.TrimSpace(entries[j]))
			if !ok {
				return client
			}
			client = addr
			if !p.trusts(addr) {
				return client
			}
		}
	}
	return client
}

// parseAddr parses an address with or without a port, as a peer's address
// or an X-Forwarded-For entry is written, without its IPv6 zone and with
// an IPv4 address in IPv6 form as IPv4.
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1] // an IPv6 address in brackets, without a port
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.WithZone("").Unmap(), true
}

// clientIP is the client's address for r (see above).
func (s *Server) clientIP(r *http.Request) (ip string, viaProxy bool) {
	return s.cfg.TrustedProxies.clientIP(r.RemoteAddr, r.Header)
}
