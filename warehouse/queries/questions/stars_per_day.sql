-- =============================================================================
-- questions/stars_per_day.sql — Stars per day (of one repository with --repo, else of all).
--   grain:   one row per day with at least one star.
--   read by: analytics.py --question stars_per_day [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: counting rule of stars_by_repository.
-- =============================================================================
SELECT d.full_date AS day, SUM(a.stars) AS stars
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
JOIN gold.dim_date AS d ON d.date_id = a.date_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY d.full_date
HAVING SUM(a.stars) > 0
ORDER BY day;
