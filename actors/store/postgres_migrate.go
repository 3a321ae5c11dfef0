package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres's schema: versioned SQL files in migrations/, NNNN_what.sql,
// applied in order at open, each in a transaction of its own that also
// records its version in schema_migrations. A database is never changed
// except by these files, and a database whose version is newer than the
// newest file (written by a newer program) is refused rather than misread.

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one file of migrations/.
type migration struct {
	version int
	name    string // the file's name
	sql     string
}

// migrationLock is the key of the advisory lock held while migrating, so
// that nodes starting at once apply each migration once: the others wait,
// then find it applied. ("chatstor" in ASCII.)
const migrationLock int64 = 0x63686174_73746f72

// loadMigrations returns the embedded migrations in version order; their
// versions must run 1, 2, 3 ... without a gap.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil {
			return nil, fmt.Errorf("migration %s: the name does not start with a version", e.Name())
		}
		data, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(data)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d where %d was expected", m.name, m.version, i+1)
		}
	}
	return out, nil
}

// migrate brings the database's schema to the newest version, holding the
// migration lock while it does.
func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer unlockMigrations(ctx, conn.Conn())
	return applyMigrations(ctx, conn.Conn(), all, logger)
}

// unlockMigrations gives the migration lock back. If that fails, the
// connection is closed, which gives it back too: the pool then drops it.
func unlockMigrations(ctx context.Context, conn *pgx.Conn) {
	ctx = context.WithoutCancel(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
		_ = conn.Close(ctx)
	}
}

// applyMigrations applies those of all that the database lacks.
func applyMigrations(ctx context.Context, conn *pgx.Conn, all []migration, logger *slog.Logger) error {
	_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	if err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if current > len(all) {
		return fmt.Errorf("the schema is at version %d, newer than this program's %d", current, len(all))
	}
	for _, m := range all[current:] {
		if err := applyMigration(ctx, conn, m); err != nil {
			return err
		}
		logger.Info("store: migrated the schema", "version", m.version, "file", m.name)
	}
	return nil
}

// applyMigration runs m and records it, in one transaction.
func applyMigration(ctx context.Context, conn *pgx.Conn, m migration) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Without arguments, Exec takes several statements (simple protocol).
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
		return err
	})
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	return nil
}
