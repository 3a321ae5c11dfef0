package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/actorchat/chat/actors/store"
)

// The postgres store: -store postgres -postgres URL. Several chatd may
// share one database; each keeps its own writer and pool.

// postgresOpenTimeout bounds connecting to the database and migrating its
// schema at start, which may wait for another server's migration.
const postgresOpenTimeout = 30 * time.Second

// readyCheckTimeout bounds one /readyz look at the database, so that a
// probe never waits long on a database that does not answer.
const readyCheckTimeout = 2 * time.Second

// checkPostgres refuses -store postgres without a usable -postgres URL, in
// one line that does not show the password. It does not connect.
func (o options) checkPostgres() error {
	switch {
	case o.storeKind != "postgres":
		return nil
	case o.postgresURL == "":
		return errors.New("-store postgres needs -postgres URL (or $CHAT_POSTGRES)")
	}
	if err := store.CheckPostgresURL(o.postgresURL); err != nil {
		return fmt.Errorf("-postgres: %w", err)
	}
	return nil
}

// openPostgres opens the postgres store, migrating its schema if needed.
func openPostgres(ctx context.Context, o options, cfg store.Config, logger *slog.Logger) (store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, postgresOpenTimeout)
	defer cancel()
	st, err := store.OpenPostgres(ctx, o.postgresURL, cfg, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("store: postgres", "db", st.Where())
	return st, nil
}

// readyCheck is /readyz's look at the store when it depends on a server
// (store.Pinger), and nil when it does not.
func readyCheck(st store.Store) func(context.Context) error {
	p, ok := st.(store.Pinger)
	if !ok {
		return nil
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		defer cancel()
		return p.Ping(ctx)
	}
}
