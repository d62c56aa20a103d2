-- =============================================================================
-- questions/stars_to_forks_ratio.sql — Stars-to-forks ratio per repository.
--   grain:   one row per repository with at least one star or fork.
--   read by: analytics.py --question stars_to_forks_ratio [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: ratio is NULL when a repository has no fork in the range (undefined, not infinite).
-- =============================================================================
SELECT r.repo_name, SUM(a.stars) AS stars, SUM(a.forks) AS forks,
       ROUND(SUM(a.stars)::NUMERIC / NULLIF(SUM(a.forks), 0), 2) AS stars_per_fork
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
HAVING SUM(a.stars) + SUM(a.forks) > 0
ORDER BY stars DESC, r.repo_name;
