package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/actorchat/chat/proto/chatpb"
)

// Postgres's part of Accounts: the tables accounts and tokens
// (migrations/). Each write that checks before it changes does both in one
// statement, so that no other node's write slips between them, and the
// statements that issue and revoke tokens take the account's row lock in
// an order that keeps a token issued against an old password from
// surviving the change:
//
//   - PutToken locks the account row FOR SHARE in the statement that checks
//     the hash and inserts the token;
//   - SetPassword and SetDisabled first lock it FOR UPDATE, in a statement
//     of their own, and only then change it and delete the tokens, in a
//     second statement whose snapshot is taken after the lock.
//
// Whichever comes second waits for the first to commit: a PutToken after a
// change finds the new hash (ErrStale); a change after a PutToken sees its
// token and deletes it. Had the change been one statement, its snapshot,
// taken before it waited for the lock, would miss the new token.

// lockAccountSQL is the first statement of a change of an account.
const lockAccountSQL = "SELECT FROM accounts WHERE name = $1 FOR UPDATE"

// Account implements Accounts.
func (s *Postgres) Account(name string) (*chatpb.Account, error) {
	var a *chatpb.Account
	err := s.read("account "+name, func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx,
			"SELECT name, password_hash, created_ms, disabled FROM accounts WHERE name = $1", name)
		var err error
		a, err = pgx.CollectExactlyOneRow(rows, scanAccount)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// ListAccounts implements Accounts. Names sort byte by byte (COLLATE "C").
func (s *Postgres) ListAccounts() ([]*chatpb.Account, error) {
	var out []*chatpb.Account
	err := s.read("accounts", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx,
			"SELECT name, password_hash, created_ms, disabled FROM accounts ORDER BY name")
		var err error
		out, err = pgx.CollectRows(rows, scanAccount)
		return err
	})
	return out, err
}

// CreateAccount implements Accounts. The unique name decides between
// concurrent creates, on any node: the second waits for the first to
// commit, then finds the name taken.
func (s *Postgres) CreateAccount(a *chatpb.Account, done func(error)) {
	if err := validAccount(a); err != nil {
		s.refuse(err, done)
		return
	}
	s.check(done, created, stmt(`WITH created AS (
			INSERT INTO accounts (name, password_hash, created_ms, disabled) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO NOTHING RETURNING name
		), known AS (
			INSERT INTO users (name) SELECT name FROM created ON CONFLICT DO NOTHING
		)
		SELECT EXISTS (SELECT FROM created)`,
		a.Name, a.PasswordHash, a.CreatedUnixMs, a.Disabled))
}

// SetPassword implements Accounts.
func (s *Postgres) SetPassword(c PasswordChange, done func(error)) {
	if err := validChange(c); err != nil {
		s.refuse(err, done)
		return
	}
	s.check(done, changed,
		stmt(lockAccountSQL, c.Name),
		stmt(setPasswordSQL, c.Name, c.Hash, c.Expect, c.KeepToken))
}

// setPasswordSQL changes the hash of account $1 to $2, unless $3 is set and
// is not its hash or the account is disabled, and then deletes its tokens
// but $4. It answers whether the account exists and whether it changed.
const setPasswordSQL = `WITH changed AS (
		UPDATE accounts SET password_hash = $2
		WHERE name = $1 AND ($3 = '' OR (NOT disabled AND password_hash = $3))
		RETURNING name
	), revoked AS (
		DELETE FROM tokens WHERE username = $1 AND id <> $4 AND EXISTS (SELECT FROM changed)
	)
	SELECT EXISTS (SELECT FROM accounts WHERE name = $1), EXISTS (SELECT FROM changed)`

// SetDisabled implements Accounts.
func (s *Postgres) SetDisabled(name string, disabled bool, done func(error)) {
	s.check(done, changed,
		stmt(lockAccountSQL, name),
		stmt(`WITH changed AS (
			UPDATE accounts SET disabled = $2 WHERE name = $1 RETURNING name
		), revoked AS (
			DELETE FROM tokens WHERE username = $1 AND $2 AND EXISTS (SELECT FROM changed)
		)
		SELECT EXISTS (SELECT FROM changed), EXISTS (SELECT FROM changed)`, // found is made
			name, disabled))
}

// Token implements Accounts.
func (s *Postgres) Token(id string, nowMs int64) (*chatpb.TokenRecord, error) {
	var t *chatpb.TokenRecord
	err := s.read("token", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx,
			"SELECT id, username, created_ms, expires_ms FROM tokens WHERE id = $1", id)
		var err error
		t, err = pgx.CollectExactlyOneRow(rows, scanToken)
		return err
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows), err == nil && t.ExpiresUnixMs <= nowMs:
		return nil, ErrNotFound
	}
	return t, err
}

// Tokens implements Accounts.
func (s *Postgres) Tokens(user string, nowMs int64) ([]*chatpb.TokenRecord, error) {
	var out []*chatpb.TokenRecord
	err := s.read("tokens of "+user, func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, `SELECT id, username, created_ms, expires_ms FROM tokens
			WHERE username = $1 AND expires_ms > $2`, user, nowMs)
		var err error
		out, err = pgx.CollectRows(rows, scanToken)
		return err
	})
	return out, err
}

// PutToken implements Accounts. The same statement prunes up to
// pruneLimit expired tokens, skipping those another transaction holds.
func (s *Postgres) PutToken(t *chatpb.TokenRecord, passwordHash string, done func(error)) {
	if err := validToken(t); err != nil {
		s.refuse(err, done)
		return
	}
	s.check(done, changed, stmt(putTokenSQL,
		t.Id, t.User, t.CreatedUnixMs, t.ExpiresUnixMs, passwordHash, s.cfg.Now().UnixMilli(), pruneLimit))
}

// putTokenSQL stores token $1 of user $2 (created $3, expiring $4) if the
// account exists, is enabled and has the hash $5, and deletes up to $7
// tokens that expired by $6. It answers whether the account exists and
// whether the token was stored.
const putTokenSQL = `WITH account AS (
		SELECT password_hash, disabled FROM accounts WHERE name = $2 FOR SHARE
	), issued AS (
		INSERT INTO tokens (id, username, created_ms, expires_ms)
		SELECT $1, $2, $3::bigint, $4::bigint FROM account WHERE password_hash = $5 AND NOT disabled
		ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username,
			created_ms = EXCLUDED.created_ms, expires_ms = EXCLUDED.expires_ms
		RETURNING id
	), pruned AS (
		DELETE FROM tokens WHERE id IN (
			SELECT id FROM tokens WHERE expires_ms <= $6::bigint AND id <> $1
			ORDER BY expires_ms LIMIT $7 FOR UPDATE SKIP LOCKED)
		AND EXISTS (SELECT FROM issued)
	)
	SELECT EXISTS (SELECT FROM account), EXISTS (SELECT FROM issued)`

// DeleteToken implements Accounts.
func (s *Postgres) DeleteToken(id string, done func(error)) {
	s.exec(done, stmt("DELETE FROM tokens WHERE id = $1", id))
}

// DeleteTokens implements Accounts.
func (s *Postgres) DeleteTokens(user, except string, done func(error)) {
	s.exec(done, stmt("DELETE FROM tokens WHERE username = $1 AND id <> $2", user, except))
}

// created is the verdict of a create: the row holds whether it was made;
// ErrExists when the name was taken.
func created(row pgx.Row) error {
	var made bool
	if err := row.Scan(&made); err != nil {
		return err
	}
	if !made {
		return ErrExists
	}
	return nil
}

// changed is the verdict of a write to an account: the row holds (found,
// made); ErrNotFound when there is no such account, ErrStale when it was
// not as the write expected.
func changed(row pgx.Row) error {
	var found, made bool
	if err := row.Scan(&found, &made); err != nil {
		return err
	}
	switch {
	case !found:
		return ErrNotFound
	case !made:
		return ErrStale
	}
	return nil
}

// scanAccount reads name, password_hash, created_ms, disabled.
func scanAccount(row pgx.CollectableRow) (*chatpb.Account, error) {
	a := new(chatpb.Account)
	err := row.Scan(&a.Name, &a.PasswordHash, &a.CreatedUnixMs, &a.Disabled)
	return a, err
}

// scanToken reads id, username, created_ms, expires_ms.
func scanToken(row pgx.CollectableRow) (*chatpb.TokenRecord, error) {
	t := new(chatpb.TokenRecord)
	err := row.Scan(&t.Id, &t.User, &t.CreatedUnixMs, &t.ExpiresUnixMs)
	return t, err
}
