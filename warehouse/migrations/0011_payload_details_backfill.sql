-- =============================================================================
-- 0011_payload_details_backfill.sql — fills silver.event_payloads and the gold payload facts
-- (silver/payloads.sql, gold/08_payload_facts.sql create them) once, for the events a
-- warehouse already held before they existed; from then on every silver batch and gold run
-- keeps them current.
--   grain:   one run over every silver event without a payload row / every gold fact without
--            its detail fact. On a new warehouse both sets are empty and it does nothing.
--   written: silver.event_payloads, the gold.fact_* payload facts, gold.agg_repo_daily_activity.
--   read:    bronze.raw_events (the payloads), silver.events, gold.fact_events (the keys).
-- Corrected after its release (the one edit of a released migration here, because the first
-- text could fail setup for good): it took the keys from today's silver.v_events; a warehouse
-- whose older release had sent an id to the -1 sentinel (ids over 18 digits, before e94f0f5)
-- then got a detail row keyed unlike its fact row, or a foreign-key error in the aggregate.
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
    -- The keys are the fact_events row's own (not today's silver.v_events reading, which an
    -- older release may have keyed differently, e.g. an id it sent to the -1 sentinel), so each
    -- detail row matches its event's fact row and its dimension members exist.
    CREATE TEMP TABLE gold_new_events ON COMMIT DROP AS
    SELECT f.event_id, f.date_id, f.actor_id, f.repo_id, f.event_time, f.event_type
      FROM gold.fact_events AS f;
    PERFORM gold.load_payload_facts();
    DROP TABLE pg_temp.gold_new_events;
END;
$$;
