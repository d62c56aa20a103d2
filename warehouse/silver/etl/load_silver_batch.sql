-- =============================================================================
-- silver/etl/load_silver_batch.sql — silver.load_batch(batch_size): move the next
-- batch of bronze rows into silver.events and advance the watermark, in the
-- caller's transaction (process_silver.py commits once per batch); and the parallel
-- form: silver.plan_ranges() cuts the backlog into ranges, silver.load_range() loads one
-- (several sessions at once), silver.advance_watermark() moves the watermark past them in order.
-- Both read with silver.read_bronze_batch() and store with silver.ingest_batch_fields().
--
--   grain:   one call = at most batch_size bronze rows, in (ingest_xid, raw_event_id) order
--            (load_range: the rows of one planned range).
--   written: silver.events, silver.event_payloads (silver/payloads.sql), silver.etl_watermark.
--   read:    bronze.raw_events.
--   called:  ingestion/src/process_silver.py (one transaction per call).
--
-- Every bronze row read becomes one silver row: no value in an event can fail the batch.
-- The rules of silver/ddl.sql type each row; a row gold must not take keeps its
-- reject_reason (and is counted in rows_rejected), values that reach gold as a sentinel get
-- a sentinel_reason. Legacy Timeline events (GH Archive 2011-02-12 .. 2014-12-31) fill the same
-- columns from their own fields (rules in silver/ddl.sql) and are marked event_format
-- 'legacy_timeline'. Only a usable type is stored in event_type (the one indexed text
-- besides the id), so no oversized value ever reaches an index.
--
-- Why an xid8 watermark, not a timestamp or sequence:
--   A sequence value or a now() timestamp is taken *before* the inserting
--   transaction commits, so a slow transaction can commit rows numbered below a
--   watermark that already moved past them, and they would be skipped forever.
--   Every bronze row records the id of the transaction that inserted it
--   (ingest_xid). pg_snapshot_xmin(pg_current_snapshot()) is the oldest
--   transaction still running: every transaction with a smaller id has finished,
--   so the set of bronze rows with ingest_xid < xmin can no longer change. We read
--   only that stable set, in keyset order, and store the last (xid, id) read in
--   the same transaction as the silver rows, so data and watermark move together.
--   Cost: an index range scan from the watermark, so it grows with the number of
--   new rows, not with the size of bronze. A transaction left open elsewhere
--   holds xmin back: silver then lags (nothing is lost) until it ends.
-- Idempotent: CREATE OR REPLACE (an older version returning no rows_rejected is dropped
-- first); re-running a batch is a no-op (ON CONFLICT).
-- =============================================================================

DO $$
DECLARE
    v_existing REGPROCEDURE := to_regprocedure('silver.load_batch(integer)');
BEGIN
    IF v_existing IS NOT NULL AND pg_get_function_result(v_existing) NOT LIKE '%rows_rejected%' THEN
        DROP FUNCTION silver.load_batch(INT);
    END IF;
END;
$$;

-- Reads the bronze rows whose (ingest_xid, raw_event_id) lies in (from, to], in that order, at
-- most p_limit of them (NULL: all), into the session's batch table silver_batch_fields: each
-- event's top-level fields and its payload's typed columns read out of bronze's (compressed,
-- often out-of-line) jsonb in one pass. raw_data is detoasted once per event (#> '{}' returns the
-- whole document detoasted, and OFFSET 0 keeps it one value), not once per field read.
-- Named columns: a session table of another shape fails loudly, never fills the wrong ones
-- (silver.prepare_batch_fields() replaces one whose columns differ). Returns the rows read.
-- No Memoize: the planner caches lateral steps keyed by their inputs, here whole payloads (each a
-- distinct value), and hashing them made the batch 25x slower (100,000 events: 16.8 s against 0.6 s).
CREATE OR REPLACE FUNCTION silver.read_bronze_batch(p_from_xid XID8, p_from_id BIGINT,
                                                    p_to_xid XID8, p_to_id BIGINT, p_limit INT)
RETURNS BIGINT
LANGUAGE plpgsql
SET enable_memoize = off
AS $$
DECLARE
    v_rows BIGINT;
BEGIN
    PERFORM silver.prepare_batch_fields();
    INSERT INTO silver_batch_fields (
        raw_event_id, ingest_xid, event_id, ingested_at, is_legacy, type_json, actor_json,
        attributes_login_json, repo_json, org_json, repository, public_json, created_at_json,
        action, item_number, is_merged, additions, deletions, changed_files, commits, item_created_at,
        item_closed_at, item_merged_at, review_state, item_title, item_labels, item_comments,
        is_pull_request, ref, ref_type, push_size, push_distinct_size, head_sha, release_tag,
        release_name, is_prerelease, fork_repo_id, fork_repo_name, member_login, pages_count,
        commit_sha, malformed_fields
    )
    SELECT b.raw_event_id, b.ingest_xid, b.event_id, b.ingested_at, l.is_legacy,
           d.doc -> 'type',
           d.doc -> 'actor',
           CASE WHEN l.is_legacy THEN d.doc -> 'actor_attributes' -> 'login' END,
           CASE WHEN NOT l.is_legacy THEN d.doc -> 'repo' END,
           CASE WHEN NOT l.is_legacy THEN d.doc -> 'org' END,
           CASE WHEN l.is_legacy THEN d.doc -> 'repository' END,
           d.doc -> 'public',
           d.doc -> 'created_at',
           p.*
      FROM (SELECT b.raw_event_id, b.ingest_xid, b.event_id, b.ingested_at, b.raw_data
              FROM bronze.raw_events AS b
             WHERE (b.ingest_xid, b.raw_event_id) > (p_from_xid, p_from_id)
               AND (b.ingest_xid, b.raw_event_id) <= (p_to_xid, p_to_id)
             ORDER BY b.ingest_xid, b.raw_event_id
             LIMIT p_limit) AS b
     CROSS JOIN LATERAL (SELECT starts_with(b.event_id, bronze.legacy_id_prefix()) AS is_legacy) AS l
     CROSS JOIN LATERAL (SELECT b.raw_data #> '{}' AS doc OFFSET 0) AS d
     -- The payload's typed columns, read in the same pass (silver/payloads.sql; inlined): the
     -- payload is never written to the batch table. Other types read nothing (a NULL type).
     CROSS JOIN LATERAL silver.read_payload(
               CASE WHEN d.doc ->> 'type' = ANY (silver.payload_event_types()) THEN d.doc ->> 'type' END,
               d.doc -> 'payload',
               CASE WHEN l.is_legacy THEN d.doc -> 'url' END) AS p;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END;
$$;

-- The batch table's events into silver.events, then their payload details
-- (silver.load_payload_details()): in the caller's transaction, idempotent (ON CONFLICT).
CREATE OR REPLACE FUNCTION silver.ingest_batch_fields()
RETURNS TABLE (rows_inserted BIGINT, rows_rejected BIGINT)
LANGUAGE plpgsql
SET enable_memoize = off
AS $$
BEGIN
    -- Bronze gave legacy Timeline events (no "id") a synthetic id with a fixed prefix; their
    -- actor, repository and organisation sit elsewhere (rules in silver/ddl.sql's header), and
    -- only the fields of the event's own format were read into the batch table.
    WITH parts AS (
        SELECT
            s.ingest_xid,
            s.raw_event_id,
            s.event_id,
            s.ingested_at,
            s.is_legacy,
            s.type_json,
            s.actor_json,
            s.attributes_login_json,
            s.repo_json,
            s.org_json,
            jsonb_typeof(s.repository)            AS repository_type,
            s.repository -> 'id'                  AS repository_id_json,
            s.repository ->> 'owner'              AS repository_owner,
            s.repository ->> 'name'               AS repository_name,
            s.repository ->> 'organization'       AS repository_organization,
            s.public_json,
            s.created_at_json
        FROM silver_batch_fields AS s
    ),
    logins AS (
        -- A legacy actor's login: `actor` as a string, else actor_attributes.login; blank is none.
        SELECT p.*,
               CASE WHEN p.is_legacy THEN
                   COALESCE(CASE WHEN jsonb_typeof(p.actor_json) = 'string'
                                 THEN NULLIF(btrim(p.actor_json #>> '{}'), '') END,
                            CASE WHEN jsonb_typeof(p.attributes_login_json) = 'string'
                                 THEN NULLIF(btrim(p.attributes_login_json #>> '{}'), '') END)
               END AS legacy_login
          FROM parts AS p
    ),
    extracted AS MATERIALIZED (
        SELECT
            l.ingest_xid,
            l.raw_event_id,
            l.event_id,
            l.type_json,
            CASE WHEN l.is_legacy THEN silver.legacy_actor_id(l.legacy_login)::TEXT
                 ELSE l.actor_json ->> 'id' END AS actor_id,
            CASE WHEN l.is_legacy THEN l.legacy_login
                 ELSE l.actor_json ->> 'login' END AS actor_login,
            CASE WHEN l.is_legacy THEN l.repository_id_json #>> '{}'
                 ELSE l.repo_json ->> 'id' END AS repo_id,
            CASE WHEN l.is_legacy THEN NULLIF(concat_ws('/', l.repository_owner, l.repository_name), '')
                 ELSE l.repo_json ->> 'name' END AS repo_name,
            CASE WHEN l.is_legacy THEN l.repository_organization
                 ELSE l.org_json ->> 'login' END AS org_login,
            CASE WHEN jsonb_typeof(l.public_json) = 'boolean'
                 THEN (l.public_json #>> '{}')::BOOLEAN END AS is_public,
            l.created_at_json,
            l.ingested_at,
            l.is_legacy,
            l.repository_type
        FROM logins AS l
    ),
    timed AS MATERIALIZED (
        SELECT x.*, silver.event_time_of(x.created_at_json) AS event_time
          FROM extracted AS x
    ),
    checked AS MATERIALIZED (
        SELECT t.*,
               COALESCE(silver.reject_reason(t.event_id, t.type_json, t.created_at_json, t.event_time),
                        CASE WHEN t.is_legacy AND t.event_time >= silver.modern_format_start()
                             THEN 'legacy timeline event at or after '
                                  || to_char(silver.modern_format_start(), 'YYYY-MM-DD HH24:MI')
                                  || ' UTC (modern format holds that time)' END) AS reject_reason
          FROM timed AS t
    ),
    inserted AS (
        INSERT INTO silver.events (
            event_id, event_type, actor_id, actor_login, repo_id, repo_name, org_login,
            is_public, created_at_raw, event_time, bronze_ingested_at, reject_reason, sentinel_reason,
            event_format
        )
        SELECT
            c.event_id, silver.event_type_of(c.type_json), c.actor_id, c.actor_login, c.repo_id,
            c.repo_name, c.org_login, c.is_public, c.created_at_json #>> '{}', c.event_time, c.ingested_at,
            c.reject_reason,
            CASE WHEN c.reject_reason IS NULL AND c.is_legacy
                     THEN silver.legacy_sentinel_reason(c.type_json, c.actor_id, c.repository_type, c.repo_id)
                 WHEN c.reject_reason IS NULL
                     THEN silver.sentinel_reason(c.type_json, c.actor_id, c.repo_id) END,
            CASE WHEN c.is_legacy THEN 'legacy_timeline' ELSE 'modern' END
        FROM checked AS c
        -- In bronze's order (not the batch table's physical one): any two sessions inserting the
        -- same events take their key locks in the same order.
        ORDER BY c.ingest_xid, c.raw_event_id
        ON CONFLICT (event_id) DO NOTHING
        RETURNING reject_reason
    )
    SELECT COUNT(*), COUNT(reject_reason) INTO rows_inserted, rows_rejected FROM inserted;

    PERFORM silver.load_payload_details();  -- silver/payloads.sql: the same batch's payload details
    RETURN NEXT;
END;
$$;

-- The advisory lock of a silver run (ghdw/core/locks.py SILVER_RUN_LOCK_KEY): a parallel run
-- holds it for its whole duration (session lock), silver.load_batch() for its transaction, so
-- a batch never loads rows a parallel run's sessions are loading (two sessions inserting the
-- same events could wait on each other: a deadlock), and two parallel runs never overlap.
CREATE OR REPLACE FUNCTION silver.run_lock_key() RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 4242004::BIGINT $$;

CREATE OR REPLACE FUNCTION silver.load_batch(p_batch_size INT)
RETURNS TABLE (rows_read BIGINT, rows_inserted BIGINT, rows_rejected BIGINT, caught_up BOOLEAN)
LANGUAGE plpgsql
AS $$
DECLARE
    v_last_xid  XID8;
    v_last_id   BIGINT;
    v_upper     XID8;
    v_new_xid   XID8;
    v_new_id    BIGINT;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'silver.load_batch: batch size must be a positive integer, got %', p_batch_size;
    END IF;

    -- A parallel run in progress (silver.run_lock_key()) finishes first; then FOR UPDATE
    -- serialises concurrent silver batches on the watermark row.
    PERFORM pg_advisory_xact_lock(silver.run_lock_key());
    SELECT w.last_xid, w.last_raw_event_id
      INTO v_last_xid, v_last_id
      FROM silver.etl_watermark AS w
     WHERE w.pipeline = 'silver.events'
       FOR UPDATE;

    v_upper := pg_snapshot_xmin(pg_current_snapshot());

    -- Every row past the watermark whose transaction ended ((xid, id) <= (v_upper, -1) is
    -- ingest_xid < v_upper: ids are positive), the first p_batch_size of them.
    rows_read := silver.read_bronze_batch(v_last_xid, v_last_id, v_upper, -1, p_batch_size);

    IF rows_read = 0 THEN
        rows_inserted := 0;
        rows_rejected := 0;
        caught_up := TRUE;
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT i.rows_inserted, i.rows_rejected INTO rows_inserted, rows_rejected FROM silver.ingest_batch_fields() AS i;

    SELECT s.ingest_xid, s.raw_event_id
      INTO v_new_xid, v_new_id
      FROM silver_batch_fields AS s
     ORDER BY s.ingest_xid DESC, s.raw_event_id DESC
     LIMIT 1;

    UPDATE silver.etl_watermark
       SET last_xid = v_new_xid, last_raw_event_id = v_new_id, updated_at = now()
     WHERE pipeline = 'silver.events';

    caught_up := rows_read < p_batch_size;
    RETURN NEXT;
END;
$$;

-- Parallel silver (ghdw.process_silver with SILVER_WORKERS > 1): the backlog is cut into
-- ranges, several sessions load a range each at the same time (silver.load_range(), one
-- transaction per range), and the watermark moves past a range only once it and every range
-- below it are committed (silver.advance_watermark()). A range loaded twice, after a crash or by
-- two runs at once, loads nothing the second time (ON CONFLICT), so the watermark can lag but
-- never skips a row.

-- The next ranges of the backlog: up to p_max_ranges ranges of p_batch_size rows (the last may
-- be shorter), each (from, to] in (ingest_xid, raw_event_id) order, starting at the watermark and
-- ending below the oldest running transaction (the set that can no longer change; see above).
CREATE OR REPLACE FUNCTION silver.plan_ranges(p_batch_size INT, p_max_ranges INT)
RETURNS TABLE (from_xid XID8, from_id BIGINT, to_xid XID8, to_id BIGINT, rows_planned BIGINT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_last_xid XID8;
    v_last_id  BIGINT;
BEGIN
    -- The watermark read first: as values, the keyset bounds below are an index range scan from
    -- it (read through a join, the planner may scan all of bronze instead).
    SELECT w.last_xid, w.last_raw_event_id INTO v_last_xid, v_last_id
      FROM silver.etl_watermark AS w
     WHERE w.pipeline = 'silver.events';
    RETURN QUERY
    WITH keys AS (
        SELECT k.ingest_xid, k.raw_event_id,
               row_number() OVER (ORDER BY k.ingest_xid, k.raw_event_id) AS n
          FROM (SELECT b.ingest_xid, b.raw_event_id
                  FROM bronze.raw_events AS b
                 WHERE (b.ingest_xid, b.raw_event_id) > (v_last_xid, v_last_id)
                   AND (b.ingest_xid, b.raw_event_id) <= (pg_snapshot_xmin(pg_current_snapshot()), -1::BIGINT)
                 ORDER BY b.ingest_xid, b.raw_event_id
                 LIMIT p_batch_size::BIGINT * p_max_ranges) AS k
    ),
    ends AS (
        SELECT k.ingest_xid, k.raw_event_id, k.n
          FROM keys AS k
         WHERE k.n % p_batch_size = 0 OR k.n = (SELECT MAX(keys.n) FROM keys)
    )
    SELECT COALESCE(lag(e.ingest_xid) OVER o, v_last_xid),
           COALESCE(lag(e.raw_event_id) OVER o, v_last_id),
           e.ingest_xid, e.raw_event_id,
           e.n - COALESCE(lag(e.n) OVER o, 0)
      FROM ends AS e
    WINDOW o AS (ORDER BY e.n)
     ORDER BY e.n;
END;
$$;

-- One range of silver.plan_ranges(): its bronze rows into silver, in the caller's transaction.
-- The watermark is not moved (silver.advance_watermark() does, in order).
CREATE OR REPLACE FUNCTION silver.load_range(p_from_xid XID8, p_from_id BIGINT, p_to_xid XID8, p_to_id BIGINT)
RETURNS TABLE (rows_read BIGINT, rows_inserted BIGINT, rows_rejected BIGINT)
LANGUAGE plpgsql AS $$
BEGIN
    rows_read := silver.read_bronze_batch(p_from_xid, p_from_id, p_to_xid, p_to_id, NULL);
    SELECT i.rows_inserted, i.rows_rejected INTO rows_inserted, rows_rejected FROM silver.ingest_batch_fields() AS i;
    RETURN NEXT;
END;
$$;

-- Moves the watermark forward to (p_xid, p_id), never back (a run that already passed it wins).
CREATE OR REPLACE FUNCTION silver.advance_watermark(p_xid XID8, p_id BIGINT)
RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE silver.etl_watermark
       SET last_xid = p_xid, last_raw_event_id = p_id, updated_at = now()
     WHERE pipeline = 'silver.events'
       AND (last_xid, last_raw_event_id) < (p_xid, p_id);
    RETURN FOUND;
END;
$$;
