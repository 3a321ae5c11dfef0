-- The chat store's tables (Postgres, actors/store/postgres.go). Records are
-- protobuf bytes, as in the bbolt file, except accounts and tokens, whose
-- fields the writes test in SQL. Names and ids compare byte by byte
-- (COLLATE "C"), as the other stores compare them, whatever the database's
-- default collation: accounts list in the same order everywhere.

-- NextEpoch: unique forever, whichever node asks. It starts at the clock
-- in Unix milliseconds, as Memory's epochs do, so that ids made from it do
-- not repeat those of a store this database replaces.
CREATE SEQUENCE epochs AS bigint;
SELECT setval('epochs', (extract(epoch FROM clock_timestamp()) * 1000)::bigint);

CREATE TABLE users (
    name text COLLATE "C" PRIMARY KEY
);

-- An inbox is in seq order, which the server assigns; a message id is in
-- one user's inbox at most once.
CREATE TABLE inbox (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    message   bytea NOT NULL,
    UNIQUE (recipient, id)
);
CREATE INDEX inbox_by_recipient ON inbox (recipient, seq);

CREATE TABLE public_history (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message bytea NOT NULL
);

-- Keys are the clients' own strings: bytea takes any of them, NUL too.
CREATE TABLE idempotency_keys (
    username   text COLLATE "C" NOT NULL,
    key        bytea NOT NULL,
    expires_ms bigint NOT NULL,
    record     bytea NOT NULL,
    PRIMARY KEY (username, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (username, expires_ms);

CREATE TABLE accounts (
    name          text COLLATE "C" PRIMARY KEY,
    password_hash text NOT NULL,
    created_ms    bigint NOT NULL,
    disabled      boolean NOT NULL
);

CREATE TABLE tokens (
    id         text COLLATE "C" PRIMARY KEY,
    username   text COLLATE "C" NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (username);
CREATE INDEX tokens_by_expiry ON tokens (expires_ms);
