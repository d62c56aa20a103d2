-- =============================================================================
-- silver/etl/load_silver_batch.sql — silver.load_batch(batch_size): move the next
-- batch of bronze rows into silver.events and advance the watermark, in the
-- caller's transaction (process_silver.py commits once per batch).
--
--   grain:   one call = at most batch_size bronze rows, in (ingest_xid, raw_event_id) order.
--   written: silver.events, silver.etl_watermark. read: bronze.raw_events.
--   called:  ingestion/src/process_silver.py (one transaction per call).
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
-- Idempotent: CREATE OR REPLACE; re-running a batch is a no-op (ON CONFLICT).
-- =============================================================================

CREATE OR REPLACE FUNCTION silver.load_batch(p_batch_size INT)
RETURNS TABLE (rows_read BIGINT, rows_inserted BIGINT, caught_up BOOLEAN)
LANGUAGE plpgsql
-- created_at without an offset is read as UTC whatever the session says.
SET TimeZone = 'UTC'
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

    -- FOR UPDATE serialises concurrent silver runs on the watermark row.
    SELECT w.last_xid, w.last_raw_event_id
      INTO v_last_xid, v_last_id
      FROM silver.etl_watermark AS w
     WHERE w.pipeline = 'silver.events'
       FOR UPDATE;

    v_upper := pg_snapshot_xmin(pg_current_snapshot());

    CREATE TEMP TABLE IF NOT EXISTS silver_batch (
        raw_event_id BIGINT, ingest_xid XID8, event_id TEXT, raw_data JSONB, ingested_at TIMESTAMPTZ
    ) ON COMMIT DELETE ROWS;
    TRUNCATE silver_batch;

    INSERT INTO silver_batch
    SELECT b.raw_event_id, b.ingest_xid, b.event_id, b.raw_data, b.ingested_at
      FROM bronze.raw_events AS b
     WHERE (b.ingest_xid, b.raw_event_id) > (v_last_xid, v_last_id)
       AND b.ingest_xid < v_upper
     ORDER BY b.ingest_xid, b.raw_event_id
     LIMIT p_batch_size;
    GET DIAGNOSTICS rows_read = ROW_COUNT;

    IF rows_read = 0 THEN
        rows_inserted := 0;
        caught_up := TRUE;
        RETURN NEXT;
        RETURN;
    END IF;

    WITH extracted AS (
        SELECT
            s.event_id,
            s.raw_data ->> 'type'                 AS event_type,
            s.raw_data -> 'actor' ->> 'id'        AS actor_id,
            s.raw_data -> 'actor' ->> 'login'     AS actor_login,
            s.raw_data -> 'repo'  ->> 'id'        AS repo_id,
            s.raw_data -> 'repo'  ->> 'name'      AS repo_name,
            s.raw_data -> 'org'   ->> 'login'     AS org_login,
            CASE WHEN jsonb_typeof(s.raw_data -> 'public') = 'boolean'
                 THEN (s.raw_data ->> 'public')::BOOLEAN END AS is_public,
            s.raw_data ->> 'created_at'           AS created_at_raw,
            s.ingested_at
        FROM silver_batch AS s
    )
    INSERT INTO silver.events (
        event_id, event_type, actor_id, actor_login, repo_id, repo_name, org_login,
        is_public, created_at_raw, event_time, bronze_ingested_at
    )
    SELECT
        x.event_id, x.event_type, x.actor_id, x.actor_login, x.repo_id, x.repo_name, x.org_login,
        x.is_public, x.created_at_raw,
        -- pg_input_is_valid (PostgreSQL 16) tests the cast without raising, so one bad
        -- timestamp becomes NULL instead of failing the batch; the leading-date check keeps
        -- out words PostgreSQL would accept as timestamps ('now', 'epoch', 'infinity').
        CASE WHEN x.created_at_raw ~ '^\d{4}-\d{2}-\d{2}'
                  AND pg_input_is_valid(x.created_at_raw, 'timestamptz')
             THEN x.created_at_raw::TIMESTAMPTZ AT TIME ZONE 'UTC' END,
        x.ingested_at
    FROM extracted AS x
    ON CONFLICT (event_id) DO NOTHING;
    GET DIAGNOSTICS rows_inserted = ROW_COUNT;

    SELECT s.ingest_xid, s.raw_event_id
      INTO v_new_xid, v_new_id
      FROM silver_batch AS s
     ORDER BY s.ingest_xid DESC, s.raw_event_id DESC
     LIMIT 1;

    UPDATE silver.etl_watermark
       SET last_xid = v_new_xid, last_raw_event_id = v_new_id, updated_at = now()
     WHERE pipeline = 'silver.events';

    caught_up := rows_read < p_batch_size;
    RETURN NEXT;
END;
$$;
