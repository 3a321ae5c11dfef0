package store

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
)

// Postgres's inboxes: the table inbox, and the counts of
// migrations/0002_inbox_counts.sql, which its functions chat_enqueue and
// chat_ack keep, each in one statement that locks the one row of
// queue_totals first. That serializes the enqueues and acks of all nodes
// for the length of a group commit, which is what keeps a cap exact when
// several nodes write at once; a batch holds it for one round trip. They
// note what they move in the temporary table chat_moves, which every
// connection of the pool makes (movesSQL), and the batch ends with
// chat_settle, which adds it to the counts (pgApply.settle).

// movesSQL makes a connection's chat_moves: the lines of what its
// transaction moved in or out of the inboxes, emptied at every commit.
const movesSQL = `CREATE TEMPORARY TABLE IF NOT EXISTS chat_moves (
	recipient text COLLATE "C" NOT NULL,
	sender    text COLLATE "C",
	messages  bigint NOT NULL,
	bytes     bigint NOT NULL
) ON COMMIT DELETE ROWS`

// makeMoves is the pool's AfterConnect: every connection gets its
// chat_moves before it is used.
func makeMoves(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, movesSQL)
	return err
}

// Inbox implements Store.
func (s *Postgres) Inbox(user string) ([]*chatpb.Message, error) {
	return s.messages("inbox of "+user,
		"SELECT message FROM inbox WHERE recipient = $1 ORDER BY seq", user)
}

// inboxStatsSQL reads the counts and the newest position of the inbox of
// $1; within a batch, the counts include what the batch moved so far.
const inboxStatsSQL = `SELECT
	coalesce((SELECT messages FROM inbox_totals WHERE recipient = $1), 0)
		+ coalesce((SELECT sum(messages) FROM chat_moves WHERE recipient = $1), 0),
	coalesce((SELECT bytes FROM inbox_totals WHERE recipient = $1), 0)
		+ coalesce((SELECT sum(bytes) FROM chat_moves WHERE recipient = $1), 0),
	coalesce((SELECT max(seq) FROM inbox WHERE recipient = $1), 0)`

// InboxStats implements Store.
func (s *Postgres) InboxStats(user string) (InboxStats, error) {
	var st InboxStats
	err := s.read("inbox size of "+user, func(ctx context.Context) error {
		return scanStats(s.pool.QueryRow(ctx, inboxStatsSQL, user), &st)
	})
	return st, err
}

// scanStats reads a row of inboxStatsSQL.
func scanStats(row pgx.Row, st *InboxStats) error {
	var last int64
	if err := row.Scan(&st.Messages, &st.Bytes, &last); err != nil {
		return err
	}
	st.Last = uint64(last)
	return nil
}

// inboxPageSQL reads up to $3 messages of the inbox of $1 after the
// position $2, dropping those after the messages before them hold $4
// bytes. fetched counts what the limit let through before the bytes were
// counted: when it is more than the page keeps, more follows.
const inboxPageSQL = `SELECT seq, message, fetched FROM (
	SELECT seq, message, count(*) OVER () AS fetched,
		sum(octet_length(message)) OVER (ORDER BY seq) - octet_length(message) AS before
	FROM (SELECT seq, message FROM inbox WHERE recipient = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS head
) AS page WHERE before < $4 ORDER BY seq`

// InboxPage implements Store. The page's two queries ride in the writer's
// batch, which orders them among the writes: each statement of the batch's
// transaction sees the statements before it.
func (s *Postgres) InboxPage(user string, after uint64, limit, maxBytes int, done func(Page, error)) {
	limit = max(limit, 1)
	bytesCap := int64(math.MaxInt64)
	if maxBytes > 0 {
		bytesCap = int64(maxBytes)
	}
	var p Page // written by results on the writer, read by its callback there
	s.submit(pgOp{
		apply: pgApply{
			stmts: []pgStmt{
				stmt(inboxPageSQL, user, int64(min(after, math.MaxInt64)), limit+1, bytesCap),
				stmt(inboxStatsSQL, user),
			},
			results: func(br pgx.BatchResults) error {
				var err error
				p, err = readInboxPage(br, limit)
				return err
			},
		},
		done: func(err error) { done(p, err) },
	})
}

// readInboxPage reads the results of InboxPage's statements: at most
// limit messages, then the inbox's size.
func readInboxPage(br pgx.BatchResults, limit int) (Page, error) {
	var p Page
	var fetched int
	rows, _ := br.Query()
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data, &fetched); err != nil {
			rows.Close()
			return Page{}, err
		}
		if len(p.Messages) == limit {
			continue // the one past the limit, read to tell that more follows
		}
		m := new(chatpb.Message)
		if err := proto.Unmarshal(data, m); err != nil {
			rows.Close()
			return Page{}, fmt.Errorf("decoding a stored message: %w", err)
		}
		p.Messages, p.Positions = append(p.Messages, m), append(p.Positions, uint64(seq))
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	p.More = fetched > len(p.Messages)
	return p, scanStats(br.QueryRow(), &p.Stats)
}

// Enqueue implements Store.
func (s *Postgres) Enqueue(m *chatpb.Message, done func(error)) {
	s.EnqueueKeyed(m, nil, func(_ Enqueued, err error) { call(done, err) })
}

// EnqueueKeyed implements Store: the key's insert is in the statement that
// enqueues, and takes place only on its verdict.
func (s *Postgres) EnqueueKeyed(m *chatpb.Message, key *chatpb.KeyRecord, done func(Enqueued, error)) {
	err := validKeyed(m, key)
	var data, keyData []byte
	if err == nil {
		data, err = encodeMessage(m, chatpb.Kind_KIND_DM)
	}
	if err == nil && key != nil {
		keyData, err = encodeRecord(key, nil)
	}
	if err != nil {
		s.refuse(err, func(err error) { done(Enqueued{}, err) })
		return
	}
	var e Enqueued // written by the verdict on the writer, read by the callback there
	verdict := func(row pgx.Row) (err error) {
		e, err = enqueueVerdict(row)
		return err
	}
	args := []any{m.To, m.Id, m.From, data, s.cfg.MaxQueuedBytes, s.cfg.SenderMaxBytes}
	stmts := []pgStmt{stmt(enqueueSQL, args...)}
	if key != nil {
		stmts = []pgStmt{s.pruneKeys(m.From),
			stmt(enqueueKeyedSQL, append(args, []byte(key.Key), key.ExpiresUnixMs, keyData)...)}
	}
	s.submit(pgOp{
		apply: pgApply{stmts: stmts, verdict: verdict, settle: true},
		done:  func(err error) { done(e, err) },
	})
}

// enqueueSQL queues message $4, whose id is $2, from $3 to $1, with the
// caps $5 (all inboxes) and $6 (the sender), and answers what it did and
// where the message is.
const enqueueSQL = "SELECT verdict, pos FROM chat_enqueue($1, $2, $3, $4, $5, $6)"

// enqueueKeyedSQL is enqueueSQL that also stores $9 as the sender's key
// $7, expiring at $8, when the message is in the inbox afterwards.
const enqueueKeyedSQL = `WITH enqueued AS (
	SELECT verdict, pos FROM chat_enqueue($1, $2, $3, $4, $5, $6)
), keyed AS (
	INSERT INTO idempotency_keys (username, key, expires_ms, record)
	SELECT $3, $7, $8, $9 FROM enqueued WHERE verdict IN ('queued', 'duplicate')
	ON CONFLICT (username, key) DO UPDATE SET expires_ms = EXCLUDED.expires_ms, record = EXCLUDED.record
)
SELECT verdict, pos FROM enqueued`

// enqueueVerdict reads chat_enqueue's answer.
func enqueueVerdict(row pgx.Row) (Enqueued, error) {
	var verdict string
	var pos *int64
	if err := row.Scan(&verdict, &pos); err != nil {
		return Enqueued{}, err
	}
	switch verdict {
	case "queued", "duplicate":
		if pos == nil {
			break
		}
		return Enqueued{Pos: uint64(*pos), New: verdict == "queued"}, nil
	case "sender_full":
		return Enqueued{}, ErrSenderFull
	case "storage_full":
		return Enqueued{}, ErrStorageFull
	}
	return Enqueued{}, fmt.Errorf("store: chat_enqueue answered %q", verdict)
}

// Ack implements Store.
func (s *Postgres) Ack(user string, ids []string, done func(error)) {
	if len(ids) == 0 {
		s.exec(done) // nothing to delete, but the callback keeps its place
		return
	}
	ids = append([]string(nil), ids...) // the caller may reuse its slice
	s.submit(pgOp{apply: pgApply{stmts: []pgStmt{stmt("SELECT chat_ack($1, $2)", user, ids)}, settle: true}, done: done})
}

// usageSQL reads the counts of all inboxes and the size of this store's
// tables (those of the schema it works in), their indexes and TOAST
// included.
const usageSQL = `SELECT messages, bytes, (
	SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = current_schema() AND c.relkind = 'r'
) FROM queue_totals`

// Usage implements Store.
func (s *Postgres) Usage() (Usage, error) {
	var u Usage
	err := s.read("usage", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, usageSQL).Scan(&u.QueuedMessages, &u.QueuedBytes, &u.StoreBytes)
	})
	return u, err
}
