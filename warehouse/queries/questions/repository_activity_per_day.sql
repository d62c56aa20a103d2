-- =============================================================================
-- questions/repository_activity_per_day.sql — Stars, forks, pull requests, issues, pushes, commits and releases per day: the repository dashboard's series.
--   grain:   one row per day with any counted activity.
--   read by: analytics.py --question repository_activity_per_day [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: counting rules of the *_by_repository questions; commits is partial where pushes_with_size < pushes.
-- =============================================================================
SELECT d.full_date AS day, SUM(a.stars) AS stars, SUM(a.forks) AS forks,
       SUM(a.prs_opened) AS prs_opened, SUM(a.prs_merged) AS prs_merged, SUM(a.prs_closed) AS prs_closed,
       SUM(a.issues_opened) AS issues_opened, SUM(a.issues_closed) AS issues_closed,
       SUM(a.pushes) AS pushes, SUM(a.commits) AS commits, SUM(a.releases) AS releases
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
JOIN gold.dim_date AS d ON d.date_id = a.date_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY d.full_date
ORDER BY day;
