-- =============================================================================
-- questions/issues_with_most_comments.sql — Issues that drew the most comments.
--   grain:   one row per issue (repository, number) commented on in the range.
--   read by: analytics.py --question issues_with_most_comments [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: comments = IssueCommentEvents on the issue in the range (pull request conversations included, marked is_pull_request: the issue's pull_request object links to one); max_reported_comments is the highest comment count any event's payload reported for it, which also counts comments outside the range.
-- =============================================================================
SELECT r.repo_name, f.item_number AS issue_number, COUNT(*) AS comments,
       MAX(f.item_comments) AS max_reported_comments, BOOL_OR(f.comment_kind = 'pull_request') AS is_pull_request
FROM gold.fact_comments AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
  AND f.comment_kind IN ('issue', 'pull_request') AND f.item_number IS NOT NULL
GROUP BY r.repo_name, f.item_number
ORDER BY comments DESC, r.repo_name, issue_number
LIMIT 100;
