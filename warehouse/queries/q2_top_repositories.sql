-- =============================================================================
-- queries/q2_top_repositories.sql — the specification's Q2, verbatim.
--   grain: one row per repository (top 10 of this month). reads: fact_events, dim_repos, dim_date.
--   run by: analysts (psql), `make demo` (anchored on the data's latest day), tests, benchmarks.
--   Metabase reads queries/fast/ instead: the same answer from the gold aggregates.
-- =============================================================================
SELECT
    r.repo_name,
    r.repo_owner,
    COUNT(*)                   AS total_events,
    COUNT(DISTINCT f.actor_id) AS contributors
FROM gold.fact_events f
JOIN gold.dim_repos r ON f.repo_id = r.repo_id
JOIN gold.dim_date d  ON f.date_id = d.date_id
WHERE d.year  = EXTRACT(YEAR  FROM CURRENT_DATE)
  AND d.month = EXTRACT(MONTH FROM CURRENT_DATE)
GROUP BY r.repo_name, r.repo_owner
ORDER BY total_events DESC
LIMIT 10;
