-- What the inboxes hold, counted as the messages come and go (see
-- actors/store/inbox.go and postgres_inbox.go): per recipient, per sender
-- (bytes queued in others' inboxes) and in all, so that a user's actor
-- need not read its inbox to know its size, and so that an enqueue past a
-- cap is refused in the same step that would store it, on whichever node.
--
-- A message's size is octet_length(message), its stored record. Messages
-- queued before this migration have no sender recorded: they count in
-- their inbox and in all, and against no sender.

ALTER TABLE inbox ADD COLUMN sender text COLLATE "C";

CREATE TABLE inbox_totals (
    recipient text COLLATE "C" PRIMARY KEY,
    messages  bigint NOT NULL,
    bytes     bigint NOT NULL
);

CREATE TABLE sender_totals (
    sender text COLLATE "C" PRIMARY KEY,
    bytes  bigint NOT NULL
);

-- One row: what all inboxes hold. Every write that changes any count
-- locks it first (chat_enqueue, chat_ack), which serializes them and so
-- keeps the caps exact across nodes, and takes every other count's lock
-- after it, so that no two of them deadlock.
CREATE TABLE queue_totals (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    messages bigint NOT NULL,
    bytes    bigint NOT NULL
);

INSERT INTO inbox_totals (recipient, messages, bytes)
    SELECT recipient, count(*), sum(octet_length(message)) FROM inbox GROUP BY recipient;
INSERT INTO queue_totals (messages, bytes)
    SELECT count(*), coalesce(sum(octet_length(message)), 0) FROM inbox;

-- chat_enqueue adds a private message to its recipient's inbox, unless
-- its id is there already, and answers what it did, with the message's
-- position (seq) when it is in the inbox: 'queued', 'duplicate', or the
-- cap it would pass, 'sender_full' (the sender's bytes for others,
-- max_sender) or 'storage_full' (all inboxes' bytes, max_total), checked
-- in that order; a cap of 0 is none. A sender of '' or the recipient's
-- own name counts against no sender.
CREATE FUNCTION chat_enqueue(p_recipient text, p_id text, p_sender text, p_message bytea,
                             p_max_total bigint, p_max_sender bigint)
    RETURNS TABLE (verdict text, pos bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_size   bigint := octet_length(p_message);
    v_total  bigint;
    v_theirs bigint := 0;
    v_counts boolean := p_sender <> '' AND p_sender <> p_recipient;
BEGIN
    SELECT bytes INTO v_total FROM queue_totals FOR UPDATE;
    SELECT inbox.seq INTO pos FROM inbox WHERE recipient = p_recipient AND id = p_id;
    IF FOUND THEN
        verdict := 'duplicate';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_counts THEN
        SELECT coalesce((SELECT bytes FROM sender_totals WHERE sender = p_sender), 0) INTO v_theirs;
        IF p_max_sender > 0 AND v_theirs + v_size > p_max_sender THEN
            verdict := 'sender_full';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    IF p_max_total > 0 AND v_total + v_size > p_max_total THEN
        verdict := 'storage_full';
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO inbox (recipient, id, sender, message) VALUES (p_recipient, p_id, p_sender, p_message)
        RETURNING inbox.seq INTO pos;
    UPDATE queue_totals SET messages = messages + 1, bytes = bytes + v_size;
    INSERT INTO inbox_totals (recipient, messages, bytes) VALUES (p_recipient, 1, v_size)
        ON CONFLICT (recipient) DO UPDATE
        SET messages = inbox_totals.messages + 1, bytes = inbox_totals.bytes + v_size;
    IF v_counts THEN
        INSERT INTO sender_totals (sender, bytes) VALUES (p_sender, v_size)
            ON CONFLICT (sender) DO UPDATE SET bytes = sender_totals.bytes + v_size;
    END IF;
    verdict := 'queued';
    RETURN NEXT;
END;
$$;

-- chat_ack removes the messages with the given ids from the recipient's
-- inbox, and what they held from the counts. A sender whose count falls
-- to nothing loses its row.
CREATE FUNCTION chat_ack(p_recipient text, p_ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_senders text[];
    v_sizes   bigint[];
    v_bytes   bigint;
BEGIN
    PERFORM FROM queue_totals FOR UPDATE;
    WITH gone AS (
        DELETE FROM inbox WHERE recipient = p_recipient AND id = ANY (p_ids)
        RETURNING sender, octet_length(message) AS size
    )
    SELECT array_agg(sender), array_agg(size), sum(size) INTO v_senders, v_sizes, v_bytes FROM gone;
    IF v_sizes IS NULL THEN
        RETURN;
    END IF;
    UPDATE queue_totals SET messages = messages - cardinality(v_sizes), bytes = bytes - v_bytes;
    UPDATE inbox_totals SET messages = messages - cardinality(v_sizes), bytes = bytes - v_bytes
        WHERE recipient = p_recipient;
    UPDATE sender_totals t SET bytes = t.bytes - a.bytes
        FROM (SELECT s AS sender, sum(z) AS bytes FROM unnest(v_senders, v_sizes) AS u (s, z)
              WHERE s <> '' AND s <> p_recipient GROUP BY s) AS a
        WHERE t.sender = a.sender;
    DELETE FROM sender_totals WHERE sender = ANY (v_senders) AND bytes <= 0;
END;
$$;
