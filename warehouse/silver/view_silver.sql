-- =============================================================================
-- silver/view_silver.sql — silver.v_events, the only door from silver into gold.
--
--   grain:   one row per silver event that has a usable event_time.
--   written: nobody (a view over silver.events).
--   read:    warehouse/gold/etl/master_gold_etl.sql.
--   Rules:
--   * ids become BIGINT only after a digits-only check; anything else becomes the
--     sentinel -1 (unknownuser / unknownrepo), so facts never hold NULL keys.
--     The check is ^[0-9]{1,18}$ rather than ^[0-9]+$: 19+ digits can overflow
--     BIGINT, and one overflowing cast would fail the whole gold transaction.
--   * rows whose event_time is NULL (missing or unparseable created_at) are
--     filtered out here, before gold ever sees them.
--   * date_id is YYYYMMDD as an INT, the key of gold.dim_date.
-- Idempotent: CREATE OR REPLACE.
-- =============================================================================

CREATE OR REPLACE VIEW silver.v_events AS
WITH typed AS (
    SELECT
        e.event_id,
        COALESCE(NULLIF(e.event_type, ''), 'Unknown')                           AS event_type,
        CASE WHEN e.actor_id ~ '^[0-9]{1,18}$' THEN e.actor_id::BIGINT ELSE -1 END AS actor_id,
        CASE WHEN e.repo_id  ~ '^[0-9]{1,18}$' THEN e.repo_id::BIGINT  ELSE -1 END AS repo_id,
        e.actor_login,
        e.repo_name,
        e.org_login,
        e.event_time,
        e.processed_at,
        e.processed_xid
    FROM silver.events AS e
    WHERE e.event_time IS NOT NULL
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
    processed_xid
FROM typed;
