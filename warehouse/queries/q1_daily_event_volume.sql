-- =============================================================================
-- queries/q1_daily_event_volume.sql — the specification's Q1, verbatim.
--   grain: one row per day of the last 7 days. reads: gold.fact_events, gold.dim_date.
--   run by: analysts (psql), `make demo` (anchored on the data's latest day), tests, benchmarks.
--   Metabase reads queries/fast/ instead: the same answer from the gold aggregates.
-- =============================================================================
SELECT
    d.full_date,
    COUNT(*)                    AS total_events,
    COUNT(DISTINCT f.actor_id)  AS unique_users,
    COUNT(DISTINCT f.repo_id)   AS unique_repos
FROM gold.fact_events f
JOIN gold.dim_date d ON f.date_id = d.date_id
WHERE d.full_date >= CURRENT_DATE - 7
GROUP BY d.full_date
ORDER BY d.full_date;
