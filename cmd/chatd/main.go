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
	st, err := openStore(opts, logger, reg)
	if err != nil {
		return err
	}
	accounts, err := newAccounts(opts, st, logger, reg) // accounts.go; nil unless -auth accounts
	if err != nil {
		_ = st.Close()
		return err
	}
	chat, err := actors.Start(actorConfig(opts, st, logger))
	if err != nil {
		_ = st.Close()
		return err
	}
	admin, err := startAdmin(opts, accounts, logger)
	if err != nil {
		return errors.Join(err, chat.Stop())
	}
	scfg := serverConfig(opts, logger)
	scfg.Accounts = accounts
	srv := server.New(scfg, chat, server.NewMetrics(reg))
	srv.ObserveActors(reg)
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

func openStore(o options, logger *slog.Logger, reg prometheus.Registerer) (store.Store, error) {
	cfg := store.Config{PublicHistory: o.history, ObserveCommit: commitMetrics(reg)}
	if o.storeKind == "memory" {
		logger.Info("store: memory (nothing survives a restart)")
		return store.NewMemory(cfg), nil
	}
	path := filepath.Join(o.dataDir, "chat.db")
	st, err := store.OpenBolt(path, cfg, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("store: bolt", "path", path)
	return st, nil
}

// commitMetrics observes every group commit of the bolt store: its latency
// (an fsync is about 1.5 ms on the reference machine) and how many writes
// it carried.
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
		DebugFaults: o.debugFaults,
	}
}

func serverConfig(o options, logger *slog.Logger) server.Config {
	return server.Config{
		Logger: logger, MaxMessage: o.maxMessage, MaxText: o.maxText, OutboxMax: o.outboxMax,
		MaxConns: o.maxConns, MaxConnsPerIP: o.maxConnsIP, AllowedOrigins: o.origins(),
		PingInterval: o.pingInterval, PongWait: o.pongWait, ReadGoroutines: o.readGoroutines,
	}
}

// serve listens (with TLS on the chat address when tlsConf is set), serves
// until ctx is done, then shuts down in order: connections (1001), HTTP
// (admin, when not nil, among it), actors, store.
func serve(ctx context.Context, o options, tlsConf *tls.Config, srv *server.Server, chat *actors.Chat, admin *http.Server, metrics http.Handler, logger *slog.Logger) error {
	ops := srv.OpsHandler(metrics)
	if o.pprof {
		ops = withPprof(ops)
	}
	var mainOps http.Handler // ops on the chat address unless they have their own
	if o.metricsAddr == "" {
		mainOps = ops
	}
	main, err := listen(o.addr, srv.Routes(mainOps), tlsConf, logger, "chat")
	if err != nil {
		return errors.Join(err, closeServer(admin), chat.Stop())
	}
	servers := []*http.Server{main}
	if admin != nil {
		servers = append(servers, admin)
	}
	if o.metricsAddr != "" {
		opsSrv, err := listen(o.metricsAddr, ops, nil, logger, "ops")
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

// closeServer closes hs at once, if there is one.
func closeServer(hs *http.Server) error {
	if hs == nil {
		return nil
	}
	return hs.Close()
}

// listen binds addr and serves h on it in the background, over TLS when
// tlsConf is set, logging the address actually bound (useful with port 0).
// TLS wraps the listener rather than using ServeTLS, which would add HTTP/2
// to what tlsConf offers (see server.CertSource.TLSConfig).
func listen(addr string, h http.Handler, tlsConf *tls.Config, logger *slog.Logger, what string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("listening", "what", what, "addr", ln.Addr().String(), "tls", tlsConf != nil)
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
