-- =============================================================================
-- bronze/ddl.sql — the raw layer: every event exactly as received, plus the
-- dead-letter queue for input that could not be stored as an event.
--
-- bronze.raw_events
--   grain:   one row per GitHub event id (deduplicated on event_id); a legacy Timeline event
--            (2011-02-12 .. 2014-12-31, no "id") has a synthetic id: bronze.legacy_event_id().
--   written: ingestion/src/bronze_loader.py (live listener and file loads), INSERT only.
--   read:    silver.load_batch() (warehouse/silver/etl/load_silver_batch.sql).
--   Append-only: a trigger refuses UPDATE and DELETE, so bronze stays the audit trail.
--   ingest_xid is the inserting transaction's id (pg_current_xact_id()); silver
--   reads bronze in ingest_xid order up to the oldest still-running transaction,
--   which is what makes its watermark safe against rows that commit late.
--
-- bronze.dead_letter_queue
--   grain:   one row per input line / event that failed to load (unique per source, line and
--            text: a reloaded line is not stored twice; see uq_dead_letter_queue_entry).
--   written: bronze_loader.py. read: operators (psql, health checks, DLQ tools).
--   raw_text is the text exactly as received, so a fixed loader can replay it.
--   error_message (here, in poll_log and in backfill_files) is bounded by a trigger: see the end.
-- bronze.poll_log
--   grain:   one row per poll of the GitHub events API by the listener.
--   written: ingestion/src/main.py (listener). read: operators, health checks, and the
--            listener itself on start-up (its overlap: event_ids of complete polls).
--   Freshness and suspected gaps (no overlap with the previous poll: events may
--   have been missed) can be queried here instead of read from logs.
-- bronze.backfill_files
--   grain:   one row per GH Archive hour or input file. written: backfill.py. read: operators,
--            the completeness report. A rerun skips completed files.
-- Idempotent: safe to run any number of times.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS bronze;

CREATE TABLE IF NOT EXISTS bronze.raw_events (
    event_id        TEXT        NOT NULL,
    raw_event_id    BIGINT      GENERATED ALWAYS AS IDENTITY,
    raw_data        JSONB       NOT NULL,
    source          TEXT        NOT NULL,
    -- TRUE when the text held \u0000 (which jsonb rejects) and was stored with U+FFFD instead;
    -- original_text then keeps the text exactly as received, for auditors.
    is_repaired     BOOLEAN     NOT NULL DEFAULT FALSE,
    original_text   TEXT,
    ingested_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ingest_xid      XID8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT pk_raw_events PRIMARY KEY (event_id),
    CONSTRAINT chk_raw_events_repair_keeps_original CHECK (is_repaired = (original_text IS NOT NULL))
);

-- lz4 compresses raw events several times faster than the default pglz; servers built
-- without lz4 keep pglz (the load works either way).
DO $$
BEGIN
    ALTER TABLE bronze.raw_events ALTER COLUMN raw_data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 not available on this server; bronze.raw_events keeps pglz compression';
END;
$$;

-- Silver's keyset scan: (ingest_xid, raw_event_id) > watermark, in that order.
CREATE INDEX IF NOT EXISTS idx_raw_events_ingest_xid
    ON bronze.raw_events (ingest_xid, raw_event_id);

-- The completeness report (backfill.py --report) counts bronze events per hour of created_at
-- for a range of hours; this index makes it read only that range instead of all of bronze.
CREATE INDEX IF NOT EXISTS idx_raw_events_created_hour
    ON bronze.raw_events ((left(raw_data ->> 'created_at', 13)));

-- At most one parallel worker (see silver/ddl.sql): the backlog health check's anti-join
-- against silver.events is then a merge of the two primary keys, twice as fast as parallel hashing.
ALTER TABLE bronze.raw_events SET (parallel_workers = 1);

CREATE TABLE IF NOT EXISTS bronze.dead_letter_queue (
    dlq_id          BIGINT      GENERATED ALWAYS AS IDENTITY,
    event_id        TEXT,
    raw_text        TEXT        NOT NULL,
    error_message   TEXT        NOT NULL,
    source          TEXT        NOT NULL,
    source_line     BIGINT,
    failed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at     TIMESTAMPTZ,
    resolution      TEXT,
    -- dlq.py replay: a replay that fails again is recorded as its own row pointing at the entry it
    -- retried (resolved at once), so the original evidence stays untouched and open.
    replay_of       BIGINT,
    -- An entry stored twice before uq_dead_letter_queue_entry existed: the first one's dlq_id.
    duplicate_of    BIGINT,
    CONSTRAINT pk_dead_letter_queue PRIMARY KEY (dlq_id)
);

CREATE INDEX IF NOT EXISTS idx_dead_letter_queue_failed_at
    ON bronze.dead_letter_queue (failed_at);

-- Health checks and `dlq.py list` look at the open entries only.
CREATE INDEX IF NOT EXISTS idx_dead_letter_queue_unresolved
    ON bronze.dead_letter_queue (failed_at) WHERE resolved_at IS NULL;

-- One entry per bad input: the same text at the same line of the same source is dead-lettered
-- once, however often it arrives (a file reloaded after a crash, the listener seeing the same
-- undecodable event on every poll). Every DLQ insert is ON CONFLICT DO NOTHING against this index;
-- the loader still counts such a line as an error of that load. A NULL source_line (an API event)
-- counts as one line. Replay trace rows (replay_of) are not entries and are left out.
-- Duplicates stored before the index existed were linked to their first entry by duplicate_of and
-- closed (migrations/0006_dlq_one_entry_per_input.sql), so the index could be built.
CREATE UNIQUE INDEX IF NOT EXISTS uq_dead_letter_queue_entry
    ON bronze.dead_letter_queue (source, COALESCE(source_line, -1), md5(raw_text))
    WHERE replay_of IS NULL AND duplicate_of IS NULL;

-- ---------------------------------------------------------------------------------------------
-- GH Archive's legacy Timeline format (2011-02-12 .. 2014-12-31): events without an "id".
-- The loaders (bronze/load/*.sql) give each such event a synthetic event_id:
--   'legacy-' || <created_at's first 19 characters, without - : T and space> || '-'
--             || md5(text of the JSON array [type, actor, repository.id, created_at, payload])
--   e.g. legacy-20140601010530-3f0c...  (55 characters for a usual created_at)
-- * What identifies the event: the fields GitHub set when it happened. Not the repository's
--   counters (watchers, stargazers, forks, size, open_issues, pushed_at) nor actor_attributes
--   (name, company, blog ...), which change between captures of the same event; not `url`,
--   which spells the repository's name of the day. Each field is jsonb's normalised text (key
--   order, whitespace), so the same event read from two files, or twice from one, gets the same
--   id and bronze's primary key stores it once.
-- * The time in front only orders the ids as the events happened, so the primary key grows at
--   its right edge like GitHub's increasing ids instead of at random places (a load of random
--   keys is markedly slower); identity is the hash, which covers created_at whole.
-- * md5's 128 bits: distinct events of one second collide with probability about n^2 / 2^129, nil
--   for the ~240 million legacy events. Deliberate collisions would need new legacy events, and
--   that history is closed (GH Archive changed format on 2015-01-01).
-- * Never a GitHub id: GitHub's event ids are decimal numbers; a synthetic id starts with
--   letters. The loaders dead-letter an event whose own "id" starts with the prefix, so nothing
--   sent by GitHub (or anyone else) can take a synthetic id's place. At most 7 + 19 + 1 + 32 = 59
--   characters, inside silver's 100-character id rule and far below the btree entry limit.
-- Kept as received: raw_data is the event as sent; the id is computed, never written into it.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION bronze.legacy_id_prefix() RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 'legacy-' $$;

-- The identifying fields are joined as the JSON array's text ('[' elements ',' ']'): each is
-- jsonb's normalised text, so the join is unambiguous, and it costs one read of each field
-- (a large document sits out of line in the staging table: every read of it is a fetch).
CREATE OR REPLACE FUNCTION bronze.legacy_event_id(p_doc JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT bronze.legacy_id_prefix()
           || translate(left(p_doc ->> 'created_at', 19), '-:T ', '') || '-'
           || md5('[' || concat_ws(',', COALESCE((p_doc -> 'type')::TEXT, 'null'),
                                        COALESCE((p_doc -> 'actor')::TEXT, 'null'),
                                        COALESCE((p_doc -> 'repository' -> 'id')::TEXT, 'null'),
                                        COALESCE((p_doc -> 'created_at')::TEXT, 'null'),
                                        COALESCE((p_doc -> 'payload')::TEXT, 'null')) || ']')
$$;

-- The event_id bronze stores: GitHub's id (a JSON string or number, not empty, not in the
-- synthetic range); else, for an object whose "id" is missing or null and that has what only
-- the legacy Timeline format has (the actor as a login string, actor_attributes, or a
-- repository key), the synthetic id; else NULL: not an event (dead-lettered with its reason).
CREATE OR REPLACE FUNCTION bronze.event_id_of(p_doc JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p_doc -> 'id') IN ('string', 'number')
                    THEN CASE WHEN p_doc ->> 'id' <> '' AND NOT starts_with(p_doc ->> 'id', bronze.legacy_id_prefix())
                              THEN p_doc ->> 'id' END
                WHEN COALESCE(jsonb_typeof(p_doc -> 'id'), 'null') <> 'null' OR jsonb_typeof(p_doc) <> 'object'
                    THEN NULL
                WHEN jsonb_typeof(p_doc -> 'actor') = 'string' OR p_doc ? 'actor_attributes' OR p_doc ? 'repository'
                    THEN bronze.legacy_event_id(p_doc) END
$$;

-- Bronze is the immutable record of what arrived: refuse edits and deletions.
CREATE OR REPLACE FUNCTION bronze.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'bronze.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS trg_raw_events_append_only ON bronze.raw_events;
CREATE TRIGGER trg_raw_events_append_only
    BEFORE UPDATE OR DELETE ON bronze.raw_events
    FOR EACH ROW EXECUTE FUNCTION bronze.refuse_change();

CREATE TABLE IF NOT EXISTS bronze.poll_log (
    poll_id                BIGINT      GENERATED ALWAYS AS IDENTITY,
    polled_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    pages                  INT         NOT NULL DEFAULT 0,
    events_fetched         INT         NOT NULL DEFAULT 0,
    events_new             INT         NOT NULL DEFAULT 0,
    inserted               INT         NOT NULL DEFAULT 0,
    duplicates             INT         NOT NULL DEFAULT 0,
    errors                 INT         NOT NULL DEFAULT 0,
    http_status            INT,
    rate_limit_remaining   INT,
    rate_limit_reset_at    TIMESTAMPTZ,
    poll_interval_seconds  INT,
    is_gap_suspected       BOOLEAN     NOT NULL DEFAULT FALSE,
    duration_ms            INT,
    error_message          TEXT,
    -- The listener's overlap, durable across restarts. event_ids: the ids of the events a poll handed
    -- to the loader (stored or dead-lettered), written in the same transaction as their load.
    -- is_complete: the poll paged down to an event of a complete poll, or to the end of what GitHub
    -- showed, and stored it all. Only a complete poll's events may end a later poll's paging: below an
    -- incomplete poll's events lies a hole, which the next poll pages through to fill. Bronze rows
    -- cannot say this (they do not record which poll stored them, nor whether it finished), so a
    -- restarted listener reads its overlap from here.
    event_ids              TEXT[],
    is_complete            BOOLEAN     NOT NULL DEFAULT FALSE,
    CONSTRAINT pk_poll_log PRIMARY KEY (poll_id)
);

CREATE INDEX IF NOT EXISTS idx_poll_log_polled_at ON bronze.poll_log (polled_at);

-- bronze.backfill_files — one row per GH Archive hour / input file loaded by backfill.py:
-- its outcome, so a rerun skips completed files and a crash leaves 'loading' to redo.
CREATE TABLE IF NOT EXISTS bronze.backfill_files (
    file_name       TEXT        NOT NULL,
    source_uri      TEXT        NOT NULL,
    status          TEXT        NOT NULL,
    lines           BIGINT      NOT NULL DEFAULT 0,
    loaded          BIGINT      NOT NULL DEFAULT 0,
    duplicates      BIGINT      NOT NULL DEFAULT 0,
    errors          BIGINT      NOT NULL DEFAULT 0,
    bytes           BIGINT      NOT NULL DEFAULT 0,
    sha256          TEXT,
    started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    error_message   TEXT,
    CONSTRAINT pk_backfill_files PRIMARY KEY (file_name),
    CONSTRAINT chk_backfill_files_status CHECK (status IN ('loading', 'completed', 'partial', 'failed'))
);

-- Stored error messages are bounded, whoever writes them. PostgreSQL's invalid-JSON message quotes
-- the bad token, so one 50 MB garbage line once stored a 52 MB error_message that `dlq.py list`
-- printed whole. A BEFORE INSERT OR UPDATE trigger on every table with an error_message is the
-- one place no writer (loader, listener, backfill, psql) can bypass. The message keeps its start
-- and says how many characters were cut; the DLQ's raw_text, the evidence, is never cut.
-- Real reasons (PostgreSQL's message and detail, an HTTP error, a gzip error) fit in a few hundred
-- characters; 2,000 keeps them whole and keeps a listing of 20 entries readable.
CREATE OR REPLACE FUNCTION bronze.error_message_max_chars() RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 2000 $$;

CREATE OR REPLACE FUNCTION bronze.bounded_error_message(message TEXT) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    max_chars CONSTANT INTEGER := bronze.error_message_max_chars();
    total INTEGER := length(message);
    keep INTEGER;
BEGIN
    IF total IS NULL OR total <= max_chars THEN
        RETURN message;
    END IF;
    -- Sized with `total` in both places, the note is never shorter than the one written.
    keep := max_chars - length(format(' [... %s of %s chars cut]', total, total));
    RETURN left(message, keep) || format(' [... %s of %s chars cut]', total - keep, total);
END;
$$;

CREATE OR REPLACE FUNCTION bronze.bound_error_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.error_message := bronze.bounded_error_message(NEW.error_message);
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS trg_dead_letter_queue_bound_error_message ON bronze.dead_letter_queue;
CREATE TRIGGER trg_dead_letter_queue_bound_error_message
    BEFORE INSERT OR UPDATE ON bronze.dead_letter_queue
    FOR EACH ROW EXECUTE FUNCTION bronze.bound_error_message();
DROP TRIGGER IF EXISTS trg_poll_log_bound_error_message ON bronze.poll_log;
CREATE TRIGGER trg_poll_log_bound_error_message
    BEFORE INSERT OR UPDATE ON bronze.poll_log
    FOR EACH ROW EXECUTE FUNCTION bronze.bound_error_message();
DROP TRIGGER IF EXISTS trg_backfill_files_bound_error_message ON bronze.backfill_files;
CREATE TRIGGER trg_backfill_files_bound_error_message
    BEFORE INSERT OR UPDATE ON bronze.backfill_files
    FOR EACH ROW EXECUTE FUNCTION bronze.bound_error_message();
