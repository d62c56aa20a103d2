-- =============================================================================
-- queries/q3_hourly_pattern.sql — the specification's Q3, verbatim.
--   grain: one row per (hour of day, weekend flag) over the last 30 days.
--   reads: gold.fact_events, gold.dim_date. run by: BI, `make demo`, tests.
-- =============================================================================
SELECT
    f.event_hour,
    d.is_weekend,
    COUNT(*) AS events
FROM gold.fact_events f
JOIN gold.dim_date d ON f.date_id = d.date_id
WHERE d.full_date >= CURRENT_DATE - 30
GROUP BY f.event_hour, d.is_weekend
ORDER BY d.is_weekend, f.event_hour;
