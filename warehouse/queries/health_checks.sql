-- =============================================================================
-- queries/health_checks.sql — the specification's health-check queries, verbatim.
--   grain: each statement returns one row (or one row per uncurated type).
--   reads: bronze.raw_events, silver.events, gold.fact_events, gold.dim_event_types.
--   run by: operators in psql, `make demo`, tests. Each statement follows a "-- name:" line.
-- =============================================================================

-- name: How fresh is the Gold layer?
SELECT MAX(silver_processed_at) FROM gold.fact_events;

-- name: How many Bronze rows haven't been Silver-processed yet?
SELECT COUNT(*) FROM bronze.raw_events b
WHERE NOT EXISTS (SELECT 1 FROM silver.events s WHERE s.event_id = b.event_id);

-- name: How much bad data reached Gold via sentinel routing? (actors)
SELECT COUNT(*) AS unknown_actors FROM gold.fact_events WHERE actor_id = -1;

-- name: How much bad data reached Gold via sentinel routing? (repos)
SELECT COUNT(*) AS unknown_repos  FROM gold.fact_events WHERE repo_id  = -1;

-- name: Any new event types waiting for manual curation?
SELECT event_type, discovered_at FROM gold.dim_event_types
WHERE is_curated = FALSE ORDER BY discovered_at DESC;
