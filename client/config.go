package client

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// DefaultServer is the WebSocket address the client dials when Config.Server
// is empty.
const DefaultServer = "ws://localhost:8000/chat"

// Config configures a Client and the two user interfaces. The zero value of
// every field except User is usable; each field documents its default.
type Config struct {
	// Server is the WebSocket URL of the chat endpoint. Empty means
	// DefaultServer. http:// and https:// are accepted for ws:// and wss://,
	// and a URL without a path gets /chat.
	Server string
	// Servers are more addresses of the same service, such as the other
	// nodes of a cluster, in the form of Server. The client dials Server
	// first and moves on to the next address, round the list, after a
	// failed dial or a dropped connection. Tokens are cached, and the
	// accounts API is reached, under Server's address.
	Servers []string
	// User is the name to connect as. Required; the server folds it to
	// lower case.
	User string
	// JSON makes the user interfaces print every received frame as raw JSON,
	// one per line, instead of formatted text.
	JSON bool
	// History is how many recent public messages to request after every
	// (re)connect and show marked as history. Zero requests none.
	History int

	// Token, when set, is presented at every upgrade as it is: a token
	// minted elsewhere (for a server in jwt mode). It is never cached, and
	// a server that refuses it ends the run with a *SignInError.
	Token string
	// Password, when set, supplies the account's password without asking
	// anyone (for scripts): the client logs in with it when the server
	// wants credentials. Nil means ask the user, at a terminal, or give up
	// with a *SignInError.
	Password func() (string, error)
	// Register lets the client create the account: a script whose login is
	// refused registers with Password, and at a terminal the client offers
	// the registration first.
	Register bool
	// TokenDir is where the tokens the client gets by signing in are saved
	// (TokenCache), to be used again on the next run. Empty saves none.
	TokenDir string
	// TLS configures wss:// connections and https:// API calls, such as
	// a private CA to trust (LoadCA). Nil means Go's defaults (the
	// system's roots).
	TLS *tls.Config

	// Now is the clock used to decide whether a timestamp is today and to
	// stamp local notices. Nil means time.Now.
	Now func() time.Time
	// Location is the time zone timestamps are shown in. Nil means time.Local.
	Location *time.Location
	// Logger receives diagnostics (dial errors, unparsable frames). Nil
	// discards them.
	Logger *slog.Logger
	// Notices is where local notices (connection lost, reconnected) go in
	// JSON mode, so that standard output holds only frames. Nil discards
	// them. In text mode notices are printed with everything else.
	Notices io.Writer

	// BackoffMin is the first reconnect delay; it doubles per failed attempt.
	// Zero means 250ms.
	BackoffMin time.Duration
	// BackoffMax caps the reconnect delay. Zero means 10s.
	BackoffMax time.Duration
	// WriteTimeout bounds every network write. Zero means 10s.
	WriteTimeout time.Duration
	// KeepAlive is how long the connection may be silent before the client
	// pings the server itself. Zero means 30s.
	KeepAlive time.Duration
	// IdleTimeout is how long the client waits for any frame, ping or pong
	// before it counts the connection as dead and reconnects. Zero means 75s.
	IdleTimeout time.Duration
	// CloseTimeout bounds the closing handshake after Close. Zero means 1s.
	CloseTimeout time.Duration
	// DrainTimeout is how long line mode, at the end of its input, waits
	// for the next answer to what it sent: it waits as long as answers keep
	// coming (a long pipe goes at the server's pace), and gives up after
	// this long without one. Zero means 5s.
	DrainTimeout time.Duration
	// Grace is how long line mode keeps listening after the last receipt,
	// so that replies to what it sent can arrive. Zero means 300ms.
	Grace time.Duration
	// OrderWait bounds how long the user interfaces hold the line showing
	// one of the user's requests (a dm's receipt, say) while an earlier
	// request is still unanswered, so that the user's lines show in the
	// order they were sent. Zero means 2s.
	OrderWait time.Duration
	// MaxFrame is the largest frame the client sends; a longer message is
	// refused locally, since the server would close the connection over it
	// and every resend. Zero means 16384, the server's default limit.
	MaxFrame int
	// SeenIDs is how many recent message ids are remembered to drop
	// duplicate deliveries. Zero means 10000.
	SeenIDs int
}

// Validate reports whether cfg can be used: a valid user name and a usable
// server address. New checks the same.
func (cfg Config) Validate() error {
	if _, ok := wire.FoldName(cfg.User); !ok {
		return fmt.Errorf("invalid user name %q: use 1 to %d of a-z 0-9 _ . - starting with a letter, digit or _", cfg.User, wire.MaxNameLen)
	}
	if strings.ContainsFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(cfg.Token) > maxToken {
		return fmt.Errorf("the token must be at most %d printable characters without spaces", maxToken)
	}
	_, err := cfg.withDefaults().dialURLs()
	return err
}

// maxToken is the protocol's longest token.
const maxToken = 512

// withDefaults returns cfg with every zero field replaced by its default.
func (cfg Config) withDefaults() Config {
	if cfg.Server == "" {
		cfg.Server = DefaultServer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Notices == nil {
		cfg.Notices = io.Discard
	}
	cfg.durationDefaults()
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = 16384
	}
	if cfg.SeenIDs == 0 {
		cfg.SeenIDs = 10000
	}
	return cfg
}

// durationDefaults fills in the zero durations.
func (cfg *Config) durationDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.BackoffMin, 250*time.Millisecond)
	def(&cfg.BackoffMax, 10*time.Second)
	def(&cfg.WriteTimeout, 10*time.Second)
	def(&cfg.KeepAlive, 30*time.Second)
	def(&cfg.IdleTimeout, 75*time.Second)
	def(&cfg.CloseTimeout, time.Second)
	def(&cfg.DrainTimeout, 5*time.Second)
	def(&cfg.Grace, 300*time.Millisecond)
	def(&cfg.OrderWait, 2*time.Second)
}

// serverKey names the server in the token cache: its normalized address
// (ws:// or wss://, host in lower case, path defaulted), without the query.
func (cfg Config) serverKey() (string, error) {
	u, err := cfg.chatURL()
	if err != nil {
		return "", err
	}
	u.Host = strings.ToLower(u.Host)
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// httpClient is the client for the accounts API: the TLS settings of the
// WebSocket, each call bounded by WriteTimeout.
func (cfg Config) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.TLS
	return &http.Client{Transport: tr, Timeout: cfg.WriteTimeout}
}

// dialURLs are the URLs to dial, Server's first then those of Servers:
// each with the path defaulted and the user name as the query parameter
// the protocol asks for.
func (cfg Config) dialURLs() ([]string, error) {
	var out []string
	for _, server := range append([]string{cfg.Server}, cfg.Servers...) {
		u, err := chatURL(server)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("user", cfg.User)
		u.RawQuery = q.Encode()
		out = append(out, u.String())
	}
	return out, nil
}

// chatURL is Server as a ws:// or wss:// URL with the path defaulted.
func (cfg Config) chatURL() (*url.URL, error) { return chatURL(cfg.Server) }

// chatURL is a server address as a ws:// or wss:// URL with the path
// defaulted.
func chatURL(server string) (*url.URL, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", server, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("server address %q: want a ws:// or wss:// URL", server)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("server address %q: no host", server)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/chat"
	}
	return u, nil
}
