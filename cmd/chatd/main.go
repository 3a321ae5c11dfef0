// Command chatd is the chat server: Proto.Actor actors inside, WebSocket
// connections at the edge. See the README for its flags and protocol.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/server"
)

// shutdownGrace bounds a graceful shutdown: connections get their 1001
// close and in-flight work finishes within it.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "admin" { // admin.go
		code := runAdmin(ctx, os.Args[2:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "compact" { // compact.go
		code := runCompact(os.Args[2:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run starts the server and blocks until ctx is done, then shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	opts, err := parseOptions(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		_, _ = fmt.Fprintln(stderr, "chatd:", err)
		return errUsage
	}
	logger, err := newLogger(opts, stderr)
	if err != nil {
		return err
	}
	tlsConf, err := tlsConfig(opts, logger)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := openStore(ctx, opts, logger, reg)
	if err != nil {
		return err
	}
	chat, err := actors.Start(actorConfig(opts, st, logger))
	if err != nil {
		_ = st.Close()
		return err
	}
	accounts, verifier, err := newAuth(opts, st, chat, logger, reg) // accounts.go; the service is nil unless -auth accounts
	if err != nil {
		return errors.Join(err, chat.Stop())
	}
	admin, err := startAdmin(opts, accounts, logger)
	if err != nil {
		return errors.Join(err, chat.Stop())
	}
	scfg := serverConfig(opts, logger)
	scfg.MaxConns = connLimit(opts, openFileLimit, logger) // fdlimit.go
	scfg.Accounts, scfg.Verifier = accounts, verifier
	scfg.ReadyCheck = allReady(readyCheck(st), chat.Ready) // postgres.go, cluster.go
	srv := server.New(scfg, chat, server.NewMetrics(reg))
	srv.ObserveActors(reg)
	if opts.cluster.name != "" {
		reg.MustRegister(remoteSendsCollector{chat}) // cluster.go
	}
	server.ObserveStore(reg, st, opts.storeCaps.maxBytes)
	return serve(ctx, opts, tlsConf, srv, chat, admin, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), logger)
}

func newLogger(o options, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

func openStore(ctx context.Context, o options, logger *slog.Logger, reg prometheus.Registerer) (store.Store, error) {
	cfg := o.storeCaps.apply(store.Config{PublicHistory: o.history, ObserveCommit: commitMetrics(reg)})
	switch o.storeKind {
	case "memory":
		logger.Info("store: memory (nothing survives a restart)")
		return store.NewMemory(cfg), nil
	case "postgres":
		return openPostgres(ctx, o, cfg, logger) // postgres.go
	}
	path := filepath.Join(o.dataDir, "chat.db")
	st, err := store.OpenBolt(path, cfg, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("store: bolt", "path", path)
	return st, nil
}

// commitMetrics observes every group commit of the bolt or postgres store:
// its latency (a bbolt fsync is about 1.5 ms on the reference machine) and
// how many writes it carried.
func commitMetrics(reg prometheus.Registerer) func(time.Duration, int) {
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "chat_store_commit_seconds", Help: "Latency of store group commits (one fsync each).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)})
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "chat_store_commit_writes", Help: "Writes carried by one store group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8)})
	reg.MustRegister(latency, size)
	return func(took time.Duration, writes int) {
		latency.Observe(took.Seconds())
		size.Observe(float64(writes))
	}
}

func actorConfig(o options, st store.Store, logger *slog.Logger) actors.Config {
	rate := o.msgRate
	if rate == 0 {
		rate = actors.NoRateLimit
	}
	return actors.Config{
		Store: st, Logger: logger,
		QueueMax: o.queueMax, MsgRate: rate, MsgBurst: o.msgBurst,
		PresenceLimit: o.presenceLimit, HistoryLimit: o.history,
		RestartLimit: o.restartLimit, RestartWindow: o.restartWindow, UserIdle: o.userIdle,
		DebugFaults: o.debugFaults, Cluster: o.cluster.config(),
	}
}

// serverConfig is the edge's configuration from the options; MaxConns is
// -max-conns as given (connLimit resolves -1).
func serverConfig(o options, logger *slog.Logger) server.Config {
	proxies, _ := server.ParseTrustedProxies(o.trustedProxies) // validated with the options
	return server.Config{
		Logger: logger, MaxMessage: o.maxMessage, MaxText: o.maxText, OutboxMax: o.outboxMax,
		MaxConns: o.maxConns, MaxConnsPerIP: o.maxConnsIP, AllowedOrigins: o.origins(),
		TrustedProxies: proxies, IPMsgRate: o.ipMsgRate,
		PingInterval: o.pingInterval, PongWait: o.pongWait, ReadGoroutines: o.readGoroutines,
	}
}

// serve listens (with TLS on the chat address when tlsConf is set), serves
// until ctx is done, then shuts down in order: connections (1001), HTTP
// (admin, when not nil, among it), actors, store. The operations
// endpoints are served on the chat address unless -metrics-addr gives
// them their own, with its own small connection limit; the profiler
// (-pprof) only there.
func serve(ctx context.Context, o options, tlsConf *tls.Config, srv *server.Server, chat *actors.Chat, admin *http.Server, metrics http.Handler, logger *slog.Logger) error {
	ops := srv.OpsHandler(metrics)
	var mainOps http.Handler // ops on the chat address unless they have their own
	if o.metricsAddr == "" {
		mainOps = ops
	}
	routes := srv.Routes(withWeb(o, mainOps)) // web.go
	main, err := listen(o.addr, logger, "chat", tlsConf != nil, srv.HTTPServer(routes, errorLog(logger)),
		func(ln net.Listener) net.Listener { return srv.Listener(ln, tlsConf) })
	if err != nil {
		return errors.Join(err, closeServer(admin), chat.Stop())
	}
	servers := []*http.Server{main}
	if admin != nil {
		servers = append(servers, admin)
	}
	if o.metricsAddr != "" {
		opsSrv, err := listen(o.metricsAddr, logger, "ops", false, opsServer(o, srv, ops, logger),
			func(ln net.Listener) net.Listener { return srv.OpsListener(ln, opsMaxConns) })
		if err != nil {
			return errors.Join(err, closeServer(admin), chat.Stop())
		}
		servers = append(servers, opsSrv)
	}
	<-ctx.Done()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	errs := []error{srv.Shutdown(sctx)}
	for _, s := range servers {
		errs = append(errs, s.Shutdown(sctx))
	}
	errs = append(errs, chat.Stop())
	logger.Info("stopped")
	return errors.Join(errs...)
}

// opsServer is the HTTP server of a separate -metrics-addr: the edge's
// limits, with the profiler when -pprof asks for it, whose profiles and
// traces take as long as the request says (30 s unless told), so its
// answers may take up to profileMax to write.
func opsServer(o options, srv *server.Server, ops http.Handler, logger *slog.Logger) *http.Server {
	if !o.pprof {
		return srv.HTTPServer(ops, errorLog(logger))
	}
	hs := srv.HTTPServer(withPprof(ops), errorLog(logger))
	hs.WriteTimeout = profileMax
	return hs
}

// profileMax is the longest profile or trace -pprof serves.
const profileMax = 2 * time.Minute

// errorLog is net/http's log for the servers: its complaints as warnings.
func errorLog(logger *slog.Logger) *log.Logger {
	return slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
}

// closeServer closes hs at once, if there is one.
func closeServer(hs *http.Server) error {
	if hs == nil {
		return nil
	}
	return hs.Close()
}

// listen binds addr and serves hs on it, through wrap (the connection
// limits, and TLS for the chat address), in the background, logging the
// address actually bound (useful with port 0). TLS wraps the listener
// rather than using ServeTLS, which would add HTTP/2 to what the TLS
// configuration offers (see server.CertSource.TLSConfig).
func listen(addr string, logger *slog.Logger, what string, tls bool, hs *http.Server, wrap func(net.Listener) net.Listener) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	logger.Info("listening", "what", what, "addr", ln.Addr().String(), "tls", tls)
	ln = wrap(ln)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving", "what", what, "err", err)
		}
	}()
	return hs, nil
}

// withPprof adds the runtime profiler's endpoints to the ops handler.
func withPprof(ops http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", ops)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
