-- =============================================================================
-- queries/fast/q2_top_repositories.sql — the specification's Q2, answered from the
-- aggregate gold.agg_monthly_repo_activity: the month's top 10 read from an index.
--   grain: one row per repository (top 10 of this month).
--   reads: gold.agg_monthly_repo_activity, gold.dim_repos.
--   run by: Metabase's Q2 card, analytics.py --fast, bench/bench_queries.py, tests (which
--   check it returns exactly what queries/q2_top_repositories.sql returns).
-- One difference: Q2 groups by name, this by repository id (shown under its current name).
-- They differ only if two repository ids carry the same name this month (a repository
-- deleted and re-created); Q2 would merge them into one row, this lists each.
-- =============================================================================
SELECT
    r.repo_name,
    r.repo_owner,
    a.total_events,
    a.contributors
FROM gold.agg_monthly_repo_activity a
JOIN gold.dim_repos r ON a.repo_id = r.repo_id
WHERE a.month_start = date_trunc('month', CURRENT_DATE)::date
ORDER BY a.total_events DESC
LIMIT 10;
