-- =============================================================================
-- questions/commits_by_repository.sql — Commits pushed per repository.
--   grain:   one row per repository with at least one push.
--   read by: analytics.py --question commits_by_repository [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: commits is the sum of PushEvent payload.size over the pushes whose payload has it (the API's payloads after 2025-10-07 do not); partial is true when some of the repository's pushes lack it, and pushes_without_size says how many. A commit pushed to two branches counts twice (size counts commits per push); distinct_size is in gold.fact_pushes.
-- =============================================================================
SELECT r.repo_name,
       -- NULL (unknown), not 0, when none of the pushes says how many commits it had.
       CASE WHEN SUM(a.pushes_with_size) > 0 THEN SUM(a.commits) END AS commits, SUM(a.pushes) AS pushes,
       SUM(a.pushes - a.pushes_with_size) AS pushes_without_size,
       SUM(a.pushes - a.pushes_with_size) > 0 AS partial
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
HAVING SUM(a.pushes) > 0
ORDER BY commits DESC NULLS LAST, r.repo_name;
