-- =============================================================================
-- questions/merged_pull_request_changes.sql — Lines added and deleted by merged pull requests, per repository.
--   grain:   one row per repository with at least one merged pull request.
--   read by: analytics.py --question merged_pull_request_changes [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: sums additions/deletions/changed_files of 'closed' events with merged true; partial is true when some of them lack any of the three figures (trimmed payloads, or a figure of the wrong type): each sum then covers only those that have it.
-- =============================================================================
SELECT r.repo_name, COUNT(*) AS merged, SUM(f.additions) AS additions, SUM(f.deletions) AS deletions,
       SUM(f.changed_files) AS changed_files,
       COUNT(*) > COUNT(f.additions) OR COUNT(*) > COUNT(f.deletions) OR COUNT(*) > COUNT(f.changed_files) AS partial
FROM gold.fact_pull_request_events AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
  AND f.action = 'closed' AND f.is_merged
GROUP BY r.repo_name
ORDER BY merged DESC, r.repo_name;
