-- =============================================================================
-- questions/forks_by_repository.sql — Repositories by forks.
--   grain:   one row per repository forked at least once.
--   read by: analytics.py --question forks_by_repository [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: a fork is a ForkEvent, counted once per event id.
-- =============================================================================
SELECT r.repo_name, SUM(a.forks) AS forks
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
HAVING SUM(a.forks) > 0
ORDER BY forks DESC, r.repo_name;
