-- =============================================================================
-- gold/06_pipeline_health.sql — gold.v_pipeline_health: the pipeline's vital signs in one row.
--
--   grain:   exactly one row, computed when read.
--   written: nobody (a view); defined by setup_db.py.
--   read:    ingestion/src/health.py (thresholds, exit codes), the Metabase "Pipeline health"
--            question and report.py's health panel. The view runs with its owner's rights, so
--            the read-only BI role sees these figures without any right on bronze or silver.
--   Every figure is an index probe or a bounded scan, so it stays fast on a large warehouse:
--   the backlog counts bronze rows past silver's watermark (by the (ingest_xid, raw_event_id)
--   index) instead of the specification's anti-join over all of bronze, which grows with it.
--   Events that do not reach gold are counted here, each kind where it stops:
--   dlq_unresolved (bronze could not store the input), rejected_events / rejected_events_24h
--   (silver stored the event with a reject_reason: silver rows = gold facts + rejected rows),
--   and the sentinel facts that reached gold with -1 or 'Unknown' (unknown_*_facts). The
--   rejected counts probe silver's partial index idx_silver_events_rejected.
-- Idempotent: CREATE OR REPLACE.
-- =============================================================================

CREATE OR REPLACE VIEW gold.v_pipeline_health AS
WITH silver_wm AS (
    SELECT last_xid, last_raw_event_id, updated_at FROM silver.etl_watermark WHERE pipeline = 'silver.events'
),
last_poll AS (
    SELECT polled_at, http_status, error_message
      FROM bronze.poll_log ORDER BY polled_at DESC, poll_id DESC LIMIT 1
)
SELECT
    now()                                                           AS checked_at,
    (SELECT b.ingested_at FROM bronze.raw_events AS b
      ORDER BY b.ingest_xid DESC, b.raw_event_id DESC LIMIT 1)      AS last_bronze_insert_at,
    (SELECT COUNT(*) FROM bronze.raw_events AS b, silver_wm AS w
      WHERE (b.ingest_xid, b.raw_event_id) > (w.last_xid, w.last_raw_event_id)) AS bronze_backlog,
    (SELECT updated_at FROM silver_wm)                              AS last_silver_run_at,
    (SELECT updated_at FROM gold.etl_watermark
      WHERE pipeline = 'gold.fact_events' AND last_xid <> '0'::xid8) AS last_gold_load_at,
    (SELECT MAX(silver_processed_at) FROM gold.fact_events)         AS gold_freshest_silver_processed_at,
    (SELECT reltuples::BIGINT FROM pg_class
      WHERE oid = 'gold.fact_events'::regclass)                     AS gold_facts_estimate,
    (SELECT COUNT(*) FROM bronze.dead_letter_queue WHERE resolved_at IS NULL) AS dlq_unresolved,
    (SELECT MAX(failed_at) FROM bronze.dead_letter_queue WHERE resolved_at IS NULL) AS dlq_newest_at,
    (SELECT polled_at FROM last_poll)                               AS last_poll_at,
    (SELECT http_status FROM last_poll)                             AS last_poll_http_status,
    (SELECT error_message FROM last_poll)                           AS last_poll_error,
    (SELECT COUNT(*) FROM bronze.poll_log
      WHERE is_gap_suspected AND polled_at > now() - INTERVAL '24 hours') AS suspected_gaps_24h,
    (SELECT COUNT(*) FROM gold.fact_events WHERE actor_id = -1)     AS unknown_actor_facts,
    (SELECT COUNT(*) FROM gold.fact_events WHERE repo_id = -1)      AS unknown_repo_facts,
    (SELECT COUNT(*) FROM gold.dim_event_types WHERE NOT is_curated) AS uncurated_event_types,
    -- New columns go last: CREATE OR REPLACE VIEW can only append.
    (SELECT COUNT(*) FROM silver.events WHERE reject_reason IS NOT NULL) AS rejected_events,
    (SELECT COUNT(*) FROM silver.events
      WHERE reject_reason IS NOT NULL AND processed_at > now() - INTERVAL '24 hours') AS rejected_events_24h,
    (SELECT MAX(processed_at) FROM silver.events WHERE reject_reason IS NOT NULL) AS rejected_newest_at,
    (SELECT COUNT(*) FROM gold.fact_events WHERE event_type = 'Unknown') AS unknown_type_facts;
