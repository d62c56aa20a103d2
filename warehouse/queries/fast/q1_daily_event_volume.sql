-- =============================================================================
-- queries/fast/q1_daily_event_volume.sql — the specification's Q1, answered from the
-- aggregate gold.agg_daily_activity: same columns, same rows, a few rows read instead
-- of every event of the week.
--   grain: one row per day of the last 7 days. reads: gold.agg_daily_activity, gold.dim_date.
--   run by: Metabase's Q1 card, analytics.py --fast, bench/bench_queries.py, tests (which
--   check it returns exactly what queries/q1_daily_event_volume.sql returns).
-- =============================================================================
SELECT
    d.full_date,
    a.total_events,
    a.unique_users,
    a.unique_repos
FROM gold.agg_daily_activity a
JOIN gold.dim_date d ON a.date_id = d.date_id
WHERE d.full_date >= CURRENT_DATE - 7
ORDER BY d.full_date;
