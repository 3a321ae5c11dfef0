package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// Postgres is the Store (and Accounts) in a PostgreSQL database, which
// several processes, the nodes of a cluster, may share: nothing here
// assumes it is the only writer. Epochs come from a sequence, creates rely
// on unique constraints, inbox order is a column the server assigns, and
// each write that checks before it changes does both in one statement, on
// locked rows (see postgres_accounts.go).
//
// Reads are queries on the caller's goroutine, through a connection pool.
// Writes are queued and committed by one writer goroutine per Postgres in
// group commits, as Bolt's are: everything queued goes into one pipelined
// batch, one round trip and one transaction (see postgres_commit.go). A
// read sees a write once the write's done callback has been called. When
// the database cannot be reached, reads return errors and writes fail
// through their callbacks; the pool reconnects by itself when it is back.
type Postgres struct {
	// set at construction
	pool  *pgxpool.Pool
	where string // the database, without credentials, for messages
	cfg   Config
	log   *slog.Logger

	// the write queue and its writer goroutine (queue.go, postgres_commit.go)
	*writeQueue[pgApply]

	// commits counts committed transactions; written by the writer, read
	// by tests and benchmarks.
	commits atomic.Uint64

	// set once by Close
	closeOnce sync.Once
}

// OpenPostgres connects to the database at url (a PostgreSQL URL or
// key=value string, as pgx takes it; pool_max_conns and the like tune the
// pool) and brings its schema to this program's version (see
// postgres_migrate.go). ctx bounds the opening: the connection and the
// migration, which may wait for another node's. It fails, naming the
// database but not the password, when url is malformed, the database
// cannot be reached, or its schema is not one this program can use.
// logger receives write failures and commit statistics (at debug level);
// nil discards them.
func OpenPostgres(ctx context.Context, url string, cfg Config, logger *slog.Logger) (*Postgres, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pcfg, err := parsePostgresURL(url)
	if err != nil {
		return nil, err
	}
	where := describeDatabase(pcfg.ConnConfig)
	pcfg.AfterConnect = makeMoves // postgres_inbox.go
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	s := &Postgres{
		pool: pool, where: where, cfg: cfg, log: logger,
		writeQueue: newWriteQueue[pgApply](cfg.MaxBatch),
	}
	go s.run(s.commit)
	return s, nil
}

// CheckPostgresURL reports whether url is a connection string OpenPostgres
// can use, without connecting: for a command line to refuse a bad flag at
// once.
func CheckPostgresURL(url string) error {
	_, err := parsePostgresURL(url)
	return err
}

// parsePostgresURL parses url; pgx's errors leave the password out.
func parsePostgresURL(url string) (*pgxpool.Config, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: the PostgreSQL URL: %w", err)
	}
	return pcfg, nil
}

// describeDatabase names the database for messages: user, host, port and
// database, never the password.
func describeDatabase(c *pgx.ConnConfig) string {
	return "postgres://" + c.User + "@" + net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// Where names the database the store was opened on, without credentials.
func (s *Postgres) Where() string { return s.where }

// Ping reports whether the database answers, within ctx: a health check,
// for /readyz. It costs one round trip on a pooled connection.
func (s *Postgres) Ping(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	err := s.pool.Ping(ctx)
	if deadConn(err) || sessionEnded(err) {
		err = s.pool.Ping(ctx) // that pooled connection was dead, not the database
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", s.where, err)
	}
	return nil
}

// NextEpoch implements Store. The value comes from a sequence, so it is
// unique among all the nodes sharing the database, and durable once
// returned (PostgreSQL logs a sequence's advance before handing it out).
// It does not wait for the writer goroutine.
func (s *Postgres) NextEpoch() (uint64, error) {
	var epoch int64
	err := s.read("next epoch", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, "SELECT nextval('epochs')").Scan(&epoch)
	})
	return uint64(epoch), err
}

// Users implements Store.
func (s *Postgres) Users() ([]string, error) {
	var names []string
	err := s.read("users", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, "SELECT name FROM users")
		var err error
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return names, err
}

// Known implements Store.
func (s *Postgres) Known(name string) (bool, error) {
	var known bool
	err := s.read("known user", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM users WHERE name = $1)", name).Scan(&known)
	})
	return known, err
}

// AddUser implements Store.
func (s *Postgres) AddUser(name string, done func(error)) {
	if name == "" {
		s.refuse(errEmptyUser, done)
		return
	}
	s.exec(done, stmt("INSERT INTO users (name) VALUES ($1) ON CONFLICT DO NOTHING", name))
}

// Recent implements Store.
func (s *Postgres) Recent() ([]*chatpb.Message, error) {
	return s.messages("public history", `SELECT message FROM (
		SELECT seq, message FROM public_history ORDER BY seq DESC LIMIT $1
	) AS newest ORDER BY seq`, s.cfg.PublicHistory)
}

// AppendPublic implements Store. The group commit that carries it drops
// the messages past the newest PublicHistory, once however many appends it
// carries (trimHistorySQL).
func (s *Postgres) AppendPublic(m *chatpb.Message, done func(error)) {
	data, err := encodeMessage(m, chatpb.Kind_KIND_PUBLIC)
	if err != nil {
		s.refuse(err, done)
		return
	}
	s.submit(pgOp{done: done, apply: pgApply{
		stmts:       []pgStmt{stmt("INSERT INTO public_history (message) VALUES ($1)", data)},
		trimHistory: true,
	}})
}

// trimHistorySQL deletes the public messages older than the newest $1,
// skipping those that a concurrent append on another node holds (SKIP
// LOCKED): each trim keeps at least the newest $1 it sees, so none deletes
// what another keeps, and Recent reads no more than $1 whatever is left
// for the next trim.
const trimHistorySQL = `DELETE FROM public_history WHERE seq IN (
	SELECT seq FROM public_history
	WHERE seq <= (SELECT seq FROM public_history ORDER BY seq DESC OFFSET $1 LIMIT 1)
	FOR UPDATE SKIP LOCKED)`

// Keys implements Store.
func (s *Postgres) Keys(user string, nowMs int64) ([]*chatpb.KeyRecord, error) {
	var recs []*chatpb.KeyRecord
	err := s.read("keys of "+user, func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx,
			"SELECT record FROM idempotency_keys WHERE username = $1 AND expires_ms > $2", user, nowMs)
		var err error
		recs, err = collectRecords(rows, func() *chatpb.KeyRecord { return new(chatpb.KeyRecord) })
		return err
	})
	return recs, err
}

// PutKey implements Store. Keys of user that have expired by the store's
// clock are dropped in the same transaction.
func (s *Postgres) PutKey(user string, r *chatpb.KeyRecord, done func(error)) {
	data, err := encodeRecord(r, validKey(user, r))
	if err != nil {
		s.refuse(err, done)
		return
	}
	s.exec(done,
		stmt(`INSERT INTO idempotency_keys (username, key, expires_ms, record) VALUES ($1, $2, $3, $4)
			ON CONFLICT (username, key) DO UPDATE SET expires_ms = EXCLUDED.expires_ms, record = EXCLUDED.record`,
			user, []byte(r.Key), r.ExpiresUnixMs, data),
		s.pruneKeys(user))
}

// pruneKeys is the statement that drops user's keys that have expired by
// the store's clock.
func (s *Postgres) pruneKeys(user string) pgStmt {
	return stmt("DELETE FROM idempotency_keys WHERE username = $1 AND expires_ms <= $2",
		user, s.cfg.Now().UnixMilli())
}

// Close implements Store: it refuses new writes, waits for the writer to
// commit everything queued before, then closes the pool. It returns nil:
// a commit that failed has told its callers.
func (s *Postgres) Close() error {
	s.closeOnce.Do(func() {
		s.close()
		s.pool.Close()
	})
	return nil
}

// read runs a query on the caller's goroutine, bounded by
// cfg.QueryTimeout; what names it in an error. After Close it fails with
// ErrClosed.
func (s *Postgres) read(what string, query func(ctx context.Context) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	defer cancel()
	err := query(ctx)
	if deadConn(err) || sessionEnded(err) {
		err = query(ctx) // a read may be made again: on another connection
	}
	if err != nil {
		if s.isClosed() {
			return ErrClosed
		}
		return fmt.Errorf("store: %s: reading the %s: %w", s.where, what, err)
	}
	return nil
}

// messages reads stored messages, one per row.
func (s *Postgres) messages(what, sql string, args ...any) ([]*chatpb.Message, error) {
	var msgs []*chatpb.Message
	err := s.read(what, func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, sql, args...)
		var err error
		msgs, err = collectRecords(rows, func() *chatpb.Message { return new(chatpb.Message) })
		return err
	})
	return msgs, err
}

// collectRecords decodes the protobuf record in each row's one column.
func collectRecords[T proto.Message](rows pgx.Rows, newRecord func() T) ([]T, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) {
		var data []byte
		r := newRecord()
		if err := row.Scan(&data); err != nil {
			return r, err
		}
		if err := proto.Unmarshal(data, r); err != nil {
			return r, fmt.Errorf("decoding a stored %s: %w", r.ProtoReflect().Descriptor().Name(), err)
		}
		return r, nil
	})
}

// isPgError reports whether err is the server's, with an SQLSTATE of one of
// the given classes (their first two characters).
func isPgError(err error, classes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	for _, c := range classes {
		if pgErr.Code[:2] == c {
			return true
		}
	}
	return false
}
