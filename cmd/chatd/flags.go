package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/actorchat/chat/server"
)

// options is everything chatd can be told, by flag or by environment
// variable (the flag wins).
type options struct {
	addr, metricsAddr    string
	logFormat, logLevel  string
	storeKind, dataDir   string
	postgresURL          string // postgres.go
	history              int
	maxMessage           int64
	maxText              int
	msgRate              float64
	msgBurst             int
	queueMax, outboxMax  int
	maxConns, maxConnsIP int
	trustedProxies       string
	ipMsgRate            float64
	allowedOrigins       string
	presenceLimit        int
	pingInterval         time.Duration
	pongWait             time.Duration
	restartLimit         int
	restartWindow        time.Duration
	userIdle             time.Duration
	debugFaults          bool
	pprof                bool
	readGoroutines       bool
	web                  bool
	tlsCert, tlsKey      string
	jwtSecretFile        string
	jwtPublicKey         string
	jwtAudience          string
	auth                 authOptions    // authflags.go
	cluster              clusterOptions // cluster.go
	storeCaps            storeOptions   // storeflags.go
}

// parseOptions reads args, with CHAT_* environment variables as defaults.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := envFlags{fs: fs, getenv: getenv}
	e.str(&o.addr, "addr", ":8000", "listen address (host:port; 127.0.0.1:0 picks a free port)")
	e.str(&o.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address instead of -addr (plain http, also with -tls-cert)")
	e.str(&o.logFormat, "log-format", "text", "log format: text or json")
	e.str(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	e.str(&o.storeKind, "store", "bolt", "store: bolt (durable, in -data), postgres (durable, in -postgres, which several servers may share) or memory (lost on exit)")
	e.str(&o.dataDir, "data", "data", "directory of the bolt store (chat.db)")
	e.str(&o.postgresURL, "postgres", "", "PostgreSQL URL of the postgres store: postgres://USER:PASSWORD@HOST:5432/DB (pgx parameters allowed, like pool_max_conns)")
	e.int(&o.history, "history-keep", 1000, "public messages kept for history requests")
	e.int64(&o.maxMessage, "max-message", 16384, "largest client message in bytes (close 1009 past it)")
	e.int(&o.maxText, "max-text", 4096, "largest say/dm text in bytes (invalid_text past it)")
	e.float(&o.msgRate, "msg-rate", 10, "say+dm messages a second per user; 0 turns rate limiting off")
	e.int(&o.msgBurst, "msg-burst", 30, "burst of messages the rate limit allows")
	e.int(&o.queueMax, "queue-max", 10000, "offline queue per user (queue_full past it)")
	e.int(&o.outboxMax, "outbox-max", 1<<20, "bytes of frames waiting for one client (close 4001 past it)")
	e.int(&o.maxConns, "max-conns", autoMaxConns, "open TCP connections of every kind (HTTP 503 past them); -1 is the open-file limit less "+strconv.Itoa(fdReserve)+", 0 no limit")
	e.int(&o.maxConnsIP, "max-conns-per-ip", 256, "open TCP connections per client IP (HTTP 429 past them); 0 is no limit")
	e.str(&o.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client, for every per-IP limit")
	e.float(&o.ipMsgRate, "ip-msg-rate", 50, "say+dm messages a second from all the sessions of one client IP, bursts of 3 s of it; 0 turns it off")
	e.str(&o.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides the server's own host; * allows all")
	e.int(&o.presenceLimit, "presence-limit", 1000, "presence notices are sent while at most this many users are online")
	e.dur(&o.pingInterval, "ping-interval", 30*time.Second, "how often idle connections are pinged (must be < -pong-wait)")
	e.dur(&o.pongWait, "pong-wait", 60*time.Second, "how long a connection may stay silent before it is closed")
	e.int(&o.restartLimit, "restart-limit", 5, "user-actor restarts tolerated within -restart-window")
	e.dur(&o.restartWindow, "restart-window", time.Minute, "window of -restart-limit")
	e.dur(&o.userIdle, "user-idle", 5*time.Minute, "how long a user's actor stays in memory with no connection and nothing in flight")
	e.bool(&o.debugFaults, "debug-faults", false, "enable the /debug panic fault-injection command")
	e.bool(&o.readGoroutines, "read-goroutines", false, "a reading goroutine per connection instead of the epoll poller (about 4 KiB more per idle connection)")
	e.bool(&o.web, "web", true, "serve the web client (a chat page for browsers) at / on -addr")
	e.bool(&o.pprof, "pprof", false, "serve /debug/pprof/ beside /metrics on -metrics-addr, which it needs (for profiling)")
	e.str(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve https and wss on -addr; a renewal on disk is used within a second (needs -tls-key)")
	e.str(&o.tlsKey, "tls-key", "", "PEM private key of -tls-cert")
	e.str(&o.jwtSecretFile, "jwt-secret-file", "", "jwt mode: file holding the HS256 secret, at least 32 bytes (or -jwt-public-key)")
	e.str(&o.jwtPublicKey, "jwt-public-key", "", "jwt mode: PEM public key; RSA verifies RS256, ECDSA P-256 ES256, Ed25519 EdDSA")
	e.str(&o.jwtAudience, "jwt-audience", "", "jwt mode: when set, a token's aud must name it")
	o.auth.define(&e)
	o.cluster.define(&e)
	o.storeCaps.define(&e)
	if err := e.err; err != nil {
		return o, err
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.logFormat != "text" && o.logFormat != "json":
		return fmt.Errorf("-log-format must be text or json, not %q", o.logFormat)
	case o.storeKind != "bolt" && o.storeKind != "memory" && o.storeKind != "postgres":
		return fmt.Errorf("-store must be bolt, postgres or memory, not %q", o.storeKind)
	case o.pingInterval >= o.pongWait:
		return fmt.Errorf("-ping-interval (%s) must be shorter than -pong-wait (%s)", o.pingInterval, o.pongWait)
	case o.userIdle <= 0:
		return fmt.Errorf("-user-idle must be positive, not %s", o.userIdle)
	case o.msgRate < 0 || o.ipMsgRate < 0 || o.maxText <= 0 || o.maxMessage <= 0 || o.queueMax <= 0 || o.outboxMax <= 0:
		return fmt.Errorf("limits must be positive (-msg-rate and -ip-msg-rate may be 0)")
	case o.maxConns < autoMaxConns || o.maxConnsIP < 0:
		return fmt.Errorf("-max-conns must be -1 (from the open-file limit), 0 (none) or a number; -max-conns-per-ip 0 or more")
	case o.pprof && o.metricsAddr == "":
		return fmt.Errorf("-pprof needs -metrics-addr: profiles and goroutine dumps are never served on the chat address")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return fmt.Errorf("-tls-cert and -tls-key go together: give both or neither")
	case o.jwtSecretFile != "" && o.jwtPublicKey != "":
		return fmt.Errorf("-jwt-secret-file and -jwt-public-key exclude each other: give one")
	case o.jwtAudience != "" && o.jwtSecretFile == "" && o.jwtPublicKey == "":
		return fmt.Errorf("-jwt-audience needs -jwt-secret-file or -jwt-public-key")
	case (o.jwtSecretFile != "" || o.jwtPublicKey != "") != (o.auth.mode == "jwt"):
		return fmt.Errorf("-jwt-secret-file or -jwt-public-key go with -auth jwt, and -auth jwt needs one of them")
	}
	if err := o.checkPostgres(); err != nil { // postgres.go
		return err
	}
	if _, err := server.ParseTrustedProxies(o.trustedProxies); err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	if err := o.cluster.validate(o.storeKind); err != nil { // cluster.go
		return err
	}
	if err := o.storeCaps.validate(); err != nil { // storeflags.go
		return err
	}
	return o.auth.validate()
}

func (o options) origins() []string {
	if o.allowedOrigins == "" {
		return nil
	}
	return strings.Split(o.allowedOrigins, ",")
}

// envFlags defines flags whose defaults come from CHAT_* variables:
// -max-conns-per-ip reads CHAT_MAX_CONNS_PER_IP.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	err    error
}

func envName(flagName string) string {
	return "CHAT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// define registers a flag through the standard FlagSet, then applies the
// environment variable, if set, as if given on the command line.
func (e *envFlags) define(name, usage string, register func(usage string)) {
	env := envName(name)
	register(usage + " [$" + env + "]")
	if v := e.getenv(env); v != "" && e.err == nil {
		if err := e.fs.Set(name, v); err != nil {
			e.err = fmt.Errorf("$%s: %w", env, err)
		}
	}
}

func (e *envFlags) str(p *string, name, def, usage string) {
	e.define(name, usage, func(u string) { e.fs.StringVar(p, name, def, u) })
}
func (e *envFlags) int(p *int, name string, def int, usage string) {
	e.define(name, usage, func(u string) { e.fs.IntVar(p, name, def, u) })
}
func (e *envFlags) int64(p *int64, name string, def int64, usage string) {
	e.define(name, usage, func(u string) { e.fs.Int64Var(p, name, def, u) })
}
func (e *envFlags) float(p *float64, name string, def float64, usage string) {
	e.define(name, usage, func(u string) { e.fs.Float64Var(p, name, def, u) })
}
func (e *envFlags) dur(p *time.Duration, name string, def time.Duration, usage string) {
	e.define(name, usage, func(u string) { e.fs.DurationVar(p, name, def, u) })
}
func (e *envFlags) bool(p *bool, name string, def bool, usage string) {
	e.define(name, usage, func(u string) { e.fs.BoolVar(p, name, def, u) })
}
