-- =============================================================================
-- questions/releases_by_repository.sql — Releases per repository.
--   grain:   one row per repository with at least one release.
--   read by: analytics.py --question releases_by_repository [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: a release is a ReleaseEvent whose action is 'published', or any ReleaseEvent whose payload has no action (older shapes).
-- =============================================================================
SELECT r.repo_name, SUM(a.releases) AS releases
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
HAVING SUM(a.releases) > 0
ORDER BY releases DESC, r.repo_name;
