-- =============================================================================
-- 0011_payload_details_backfill.sql — fills silver.event_payloads and the gold payload facts
-- (silver/payloads.sql, gold/08_payload_facts.sql create them) once, for the events a
-- warehouse already held before they existed; from then on every silver batch and gold run
-- keeps them current.
--   grain:   one run over every silver event without a payload row / every gold fact without
--            its detail fact. On a new warehouse both sets are empty and it does nothing.
--   written: silver.event_payloads, the gold.fact_* payload facts, gold.agg_repo_daily_activity.
--   read:    bronze.raw_events (the payloads), silver.v_events, gold.fact_events.
-- Takes the gold watermark's row lock, so it never interleaves with a gold run. Both loads are
-- ON CONFLICT DO NOTHING, so running it on a warehouse that already has the rows changes nothing.
-- =============================================================================

DO $$
BEGIN
    PERFORM 1 FROM gold.etl_watermark WHERE pipeline = 'gold.fact_events' FOR UPDATE;

    IF to_regclass('pg_temp.silver_batch') IS NOT NULL THEN
        DROP TABLE pg_temp.silver_batch;
    END IF;
    CREATE TEMP TABLE silver_batch ON COMMIT DROP AS
    SELECT b.raw_event_id, b.ingest_xid, b.event_id, b.raw_data, b.ingested_at
      FROM bronze.raw_events AS b
      JOIN silver.events AS e ON e.event_id = b.event_id
     WHERE NOT EXISTS (SELECT 1 FROM silver.event_payloads AS p WHERE p.event_id = b.event_id);
    PERFORM silver.load_payload_batch();
    DROP TABLE pg_temp.silver_batch;

    IF to_regclass('pg_temp.gold_new_events') IS NOT NULL THEN
        DROP TABLE pg_temp.gold_new_events;
    END IF;
    CREATE TEMP TABLE gold_new_events ON COMMIT DROP AS
    SELECT v.*
      FROM silver.v_events AS v
      JOIN gold.fact_events AS f ON f.event_id = v.event_id;
    PERFORM gold.load_payload_facts();
    DROP TABLE pg_temp.gold_new_events;
END;
$$;
