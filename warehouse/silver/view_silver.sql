-- =============================================================================
-- silver/view_silver.sql — silver.v_events, the only door from silver into gold.
--
--   grain:   one row per silver event without a reject_reason.
--   written: nobody (a view over silver.events).
--   read:    warehouse/gold/etl/master_gold_etl.sql.
--   Rules (defined once, as functions, in silver/ddl.sql, whose header states them all):
--   * rows with a reject_reason (no usable time, a time outside what gold.dim_date can key,
--     an id or type gold cannot index) stay out; they are counted, not lost
--     (gold.v_pipeline_health.rejected_events). A CHECK on silver.events guarantees every
--     row that passes has an event_time.
--   * ids become BIGINT through silver.github_id(): digits only and within BIGINT (19 digits
--     that fit are a real id); anything else, overflow included, becomes the sentinel -1
--     (unknownuser / unknownrepo), so facts never hold NULL keys and one overflowing cast
--     can never fail the gold transaction.
--   * a missing or empty type becomes the sentinel 'Unknown' (silver.events.sentinel_reason
--     says so for each such row).
--   * date_id is YYYYMMDD as an INT, the key of gold.dim_date.
--   * a legacy Timeline event's actor_id is its surrogate (silver.legacy_actor_id(), below -1);
--     event_format ('modern' / 'legacy_timeline') goes on to gold.fact_events.
-- Idempotent: CREATE OR REPLACE.
-- =============================================================================

CREATE OR REPLACE VIEW silver.v_events AS
WITH typed AS (
    SELECT
        e.event_id,
        COALESCE(NULLIF(e.event_type, ''), 'Unknown')                           AS event_type,
        -- A legacy actor's id is silver.legacy_actor_id(login), written by silver.load_batch()
        -- (always a BIGINT below -1, or NULL); github_id() would refuse the minus sign.
        COALESCE(CASE WHEN e.event_format = 'legacy_timeline' THEN e.actor_id::BIGINT
                      ELSE silver.github_id(e.actor_id) END, -1)                AS actor_id,
        COALESCE(silver.github_id(e.repo_id), -1)                               AS repo_id,
        e.actor_login,
        e.repo_name,
        e.org_login,
        e.event_time,
        e.processed_at,
        e.processed_xid,
        e.event_format
    FROM silver.events AS e
    WHERE e.reject_reason IS NULL
      AND e.event_time IS NOT NULL
)
SELECT
    event_id,
    event_type,
    actor_id,
    CASE WHEN actor_id = -1 THEN 'unknownuser'
         ELSE COALESCE(actor_login, 'unknownuser') END                           AS actor_login,
    repo_id,
    CASE WHEN repo_id = -1 THEN 'unknownrepo'
         ELSE COALESCE(repo_name, 'unknownrepo') END                             AS repo_name,
    org_login,
    event_time,
    EXTRACT(HOUR FROM event_time)::INT                                           AS event_hour,
    (EXTRACT(YEAR FROM event_time)::INT * 10000
     + EXTRACT(MONTH FROM event_time)::INT * 100
     + EXTRACT(DAY FROM event_time)::INT)                                        AS date_id,
    processed_at,
    processed_xid,
    event_format
FROM typed;
