-- =============================================================================
-- questions/pull_requests_by_repository.sql — Pull requests opened, merged and closed per repository.
--   grain:   one row per repository with at least one PullRequestEvent.
--   read by: analytics.py --question pull_requests_by_repository [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: opened = action 'opened'; merged = action 'closed' with merged true; closed = every 'closed' (merged ones included); reopened and other actions are not counted. partial is true when a closed event's payload does not say whether it was merged (trimmed API payloads after 2025-10-07): merged is then a lower bound.
-- =============================================================================
SELECT r.repo_name,
       COUNT(*) FILTER (WHERE f.action = 'opened')                 AS opened,
       COUNT(*) FILTER (WHERE f.action = 'closed' AND f.is_merged) AS merged,
       COUNT(*) FILTER (WHERE f.action = 'closed')                 AS closed,
       COALESCE(BOOL_OR(f.action = 'closed' AND f.is_merged IS NULL), FALSE) AS partial
FROM gold.fact_pull_request_events AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
ORDER BY opened DESC, r.repo_name;
