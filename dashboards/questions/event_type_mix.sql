-- =============================================================================
-- dashboards/questions/event_type_mix.sql — Metabase question "Event-type mix (last 30 days)".
--   grain: one row per event type seen in the last 30 days, with its category and share.
--   reads: gold.fact_events, gold.dim_event_types, gold.dim_date. run by: Metabase (role gh_bi),
--          report.py, tests/test_dashboards.py.
-- =============================================================================
WITH recent_facts AS (
    SELECT f.event_type
    FROM gold.fact_events f
    JOIN gold.dim_date d ON f.date_id = d.date_id
    WHERE d.full_date >= CURRENT_DATE - 30
),
counted AS (
    SELECT event_type, COUNT(*) AS events
    FROM recent_facts
    GROUP BY event_type
)
SELECT
    c.event_type,
    t.event_category,
    c.events,
    ROUND(100.0 * c.events / SUM(c.events) OVER (), 1) AS share_pct
FROM counted c
JOIN gold.dim_event_types t ON t.event_type = c.event_type
ORDER BY c.events DESC, c.event_type;
