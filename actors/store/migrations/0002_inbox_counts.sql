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

-- The counts do not move with each message: a row updated many times in
-- one transaction leaves a chain of versions that each update walks, so a
-- group commit of n messages for one sender would cost n^2. Each message
-- adds a line to chat_moves instead, a temporary table every connection
-- of the store makes (postgres_inbox.go), and the group commit ends with
-- chat_settle, which adds the lines to the counts, each count once. The
-- caps are checked on the counts plus what this transaction moved so far,
-- which transaction-local settings keep: all inboxes' in chat.moved_bytes,
-- each sender's in a small JSON object of the setting its name hashes to
-- (chat.moved_by_N), so that reading it costs the same however much the
-- transaction moved. (The functions read and set them in plain
-- assignments, which PL/pgSQL evaluates without a query.)

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
    v_sender text := CASE WHEN p_sender <> '' AND p_sender <> p_recipient THEN p_sender END;
    v_moved  bigint := coalesce(nullif(current_setting('chat.moved_bytes', true), '')::bigint, 0);
    v_total  bigint;
    v_name   text;
    v_theirs jsonb;
    v_mine   bigint := 0;
    v_set    text;
BEGIN
    SELECT bytes INTO v_total FROM queue_totals FOR UPDATE;
    IF v_sender IS NOT NULL THEN
        v_name := 'chat.moved_by_' || (hashtext(v_sender) & 1023)::text;
        v_theirs := coalesce(nullif(current_setting(v_name, true), '')::jsonb, '{}'::jsonb);
        v_mine := coalesce((v_theirs ->> v_sender)::bigint, 0);
    END IF;
    IF v_sender IS NOT NULL AND p_max_sender > 0 AND p_max_sender < v_size + v_mine
            + coalesce((SELECT bytes FROM sender_totals WHERE sender = v_sender), 0) THEN
        verdict := 'sender_full';
    ELSIF p_max_total > 0 AND p_max_total < v_total + v_moved + v_size THEN
        verdict := 'storage_full';
    ELSE
        INSERT INTO inbox (recipient, id, sender, message) VALUES (p_recipient, p_id, p_sender, p_message)
            ON CONFLICT (recipient, id) DO NOTHING
            RETURNING inbox.seq INTO pos;
        IF FOUND THEN
            INSERT INTO chat_moves (recipient, sender, messages, bytes) VALUES (p_recipient, v_sender, 1, v_size);
            v_set := set_config('chat.moved_bytes', (v_moved + v_size)::text, true);
            IF v_sender IS NOT NULL THEN
                v_set := set_config(v_name, jsonb_set(v_theirs, ARRAY[v_sender], to_jsonb(v_mine + v_size))::text, true);
            END IF;
            verdict := 'queued';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    -- Refused, or there already: a message that is there is no new one,
    -- and passes no cap.
    SELECT inbox.seq INTO pos FROM inbox WHERE recipient = p_recipient AND id = p_id;
    IF FOUND THEN
        verdict := 'duplicate';
    END IF;
    RETURN NEXT;
END;
$$;

-- chat_ack removes the messages with the given ids from the recipient's
-- inbox, and notes what they held, by sender.
CREATE FUNCTION chat_ack(p_recipient text, p_ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    v_name  text;
    v_moved jsonb;
    v_set   text;
BEGIN
    PERFORM FROM queue_totals FOR UPDATE;
    FOR r IN
        WITH gone AS (
            DELETE FROM inbox WHERE recipient = p_recipient AND id = ANY (p_ids)
            RETURNING CASE WHEN sender <> '' AND sender <> p_recipient THEN sender END AS sender,
                octet_length(message) AS size
        )
        SELECT sender, count(*) AS n, sum(size) AS bytes FROM gone GROUP BY sender
    LOOP
        INSERT INTO chat_moves (recipient, sender, messages, bytes) VALUES (p_recipient, r.sender, -r.n, -r.bytes);
        v_set := set_config('chat.moved_bytes',
            (coalesce(nullif(current_setting('chat.moved_bytes', true), '')::bigint, 0) - r.bytes)::text, true);
        IF r.sender IS NOT NULL THEN
            v_name := 'chat.moved_by_' || (hashtext(r.sender) & 1023)::text;
            v_moved := coalesce(nullif(current_setting(v_name, true), '')::jsonb, '{}'::jsonb);
            v_set := set_config(v_name, jsonb_set(v_moved, ARRAY[r.sender],
                to_jsonb(coalesce((v_moved ->> r.sender)::bigint, 0) - r.bytes))::text, true);
        END IF;
    END LOOP;
END;
$$;

-- chat_settle adds what this transaction moved to the counts, each count
-- once: the last statement of a group commit. The moves go at its commit
-- (chat_moves empties itself, the settings were local to it). A sender
-- whose count falls to nothing loses its row.
CREATE FUNCTION chat_settle() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE queue_totals q SET messages = q.messages + d.messages, bytes = q.bytes + d.bytes
        FROM (SELECT sum(messages) AS messages, sum(bytes) AS bytes FROM chat_moves) AS d
        WHERE d.messages IS NOT NULL;
    INSERT INTO inbox_totals (recipient, messages, bytes)
        SELECT recipient, sum(messages), sum(bytes) FROM chat_moves GROUP BY recipient
        ON CONFLICT (recipient) DO UPDATE
        SET messages = inbox_totals.messages + EXCLUDED.messages, bytes = inbox_totals.bytes + EXCLUDED.bytes;
    INSERT INTO sender_totals (sender, bytes)
        SELECT sender, sum(bytes) FROM chat_moves WHERE sender IS NOT NULL GROUP BY sender
        ON CONFLICT (sender) DO UPDATE SET bytes = sender_totals.bytes + EXCLUDED.bytes;
    DELETE FROM sender_totals WHERE bytes <= 0 AND sender IN (SELECT sender FROM chat_moves);
END;
$$;
