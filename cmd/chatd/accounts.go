package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/server"
)

// newAuth returns what -auth asks for: in the accounts mode the accounts
// service, which verifies the tokens it issues and reports revocations to
// chat's actors, so that the connections opened with a revoked token are
// closed at once; in the jwt mode a JWT verifier; in the none mode neither,
// with a warning (version 1 trusts any name). The server takes the
// verifier; nil is the none mode.
func newAuth(o options, st store.Store, chat *actors.Chat, logger *slog.Logger, reg prometheus.Registerer) (*auth.Service, auth.Verifier, error) {
	switch o.auth.mode {
	case "none":
		logger.Warn("auth: none: the user query parameter is trusted as is, so anyone may speak as anyone; " +
			"for local trials and tests only")
		return nil, nil, nil
	case "jwt":
		v, err := jwtVerifier(o, time.Now)
		if err != nil {
			return nil, nil, err
		}
		logger.Info("auth: jwt: the accounts API and the admin socket are off", "audience", o.jwtAudience)
		return nil, v, nil
	}
	svc, err := newAccounts(o, st, logger, reg, server.RevokeSessions(chat))
	if err != nil {
		return nil, nil, err
	}
	return svc, svc, nil
}

// newAccounts returns the accounts service over st, telling onRevoke of
// every revocation.
func newAccounts(o options, st store.Store, logger *slog.Logger, reg prometheus.Registerer, onRevoke func(auth.Revocation)) (*auth.Service, error) {
	accts, ok := st.(store.Accounts)
	if !ok {
		return nil, errors.New("auth: the store keeps no accounts")
	}
	rate := o.auth.rate
	if rate == 0 {
		rate = auth.NoLimit
	}
	svc, err := auth.New(auth.Config{
		Store: accts, Logger: logger, TokenTTL: o.auth.tokenTTL,
		RegistrationClosed: o.auth.registration == "closed", IPAttempts: rate,
		OnRevoke: onRevoke,
	})
	if err != nil {
		return nil, err
	}
	hashMetrics(reg, svc)
	logger.Info("auth: accounts", "registration", o.auth.registration, "auth_rate", o.auth.rate, "token_ttl", o.auth.tokenTTL)
	return svc, nil
}

// hashMetrics exports the password-hashing pool: how busy it is, and how
// many logins a flood had refused.
func hashMetrics(reg prometheus.Registerer, svc *auth.Service) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chat_auth_hashes_in_flight", Help: "Password hashes running now."},
			func() float64 { return float64(svc.HashStats().InFlight) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chat_auth_hashes_queued", Help: "Requests waiting for a password-hashing slot."},
			func() float64 { return float64(svc.HashStats().Queued) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "chat_auth_hashes_total", Help: "Password hashes computed."},
			func() float64 { return float64(svc.HashStats().Done) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "chat_auth_hashes_refused_total", Help: "Requests refused (503) because every hashing slot and the queue were taken."},
			func() float64 { return float64(svc.HashStats().Refused) }),
	)
}

// startAdmin serves the operator's commands on the admin socket; with no
// service (not the accounts mode) it does nothing and returns nil.
func startAdmin(o options, svc *auth.Service, logger *slog.Logger) (*http.Server, error) {
	if svc == nil {
		return nil, nil
	}
	path := adminSocketPath(o.dataDir, o.auth.adminSocket)
	ln, err := listenAdmin(path)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{ // only its owner can connect, but a stuck client still must not hold it
		Handler: server.AdminHandler(svc, logger), ReadHeaderTimeout: server.DefaultHeaderTimeout,
		MaxHeaderBytes: server.MaxHeaderBytes, IdleTimeout: server.DefaultIdleTimeout,
		ErrorLog: errorLog(logger),
	}
	logger.Info("listening", "what", "admin", "socket", path)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving", "what", "admin", "err", err)
		}
	}()
	return hs, nil
}
