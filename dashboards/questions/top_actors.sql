-- =============================================================================
-- dashboards/questions/top_actors.sql — Metabase question "Top 10 actors (last 30 days)".
--   grain: one row per actor (the 10 with the most events), the unknown-actor sentinel excluded.
--   reads: gold.fact_events, gold.dim_actors, gold.dim_date. run by: Metabase (role gh_bi),
--          report.py, tests/test_dashboards.py.
-- =============================================================================
WITH recent_facts AS (
    SELECT f.actor_id, f.repo_id
    FROM gold.fact_events f
    JOIN gold.dim_date d ON f.date_id = d.date_id
    WHERE d.full_date >= CURRENT_DATE - 30
      AND f.actor_id <> -1
),
per_actor AS (
    SELECT actor_id, COUNT(*) AS total_events, COUNT(DISTINCT repo_id) AS repos_touched
    FROM recent_facts
    GROUP BY actor_id
)
SELECT
    a.actor_login,
    p.total_events,
    p.repos_touched
FROM per_actor p
JOIN gold.dim_actors a ON a.actor_id = p.actor_id
ORDER BY p.total_events DESC, a.actor_login
LIMIT 10;
