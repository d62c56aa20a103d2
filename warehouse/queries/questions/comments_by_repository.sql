-- =============================================================================
-- questions/comments_by_repository.sql — Comments per repository: on issues, on pull request conversations, in reviews, on commits.
--   grain:   one row per repository with at least one comment event.
--   read by: analytics.py --question comments_by_repository [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: one comment event = one comment; edits and deletions of comments (action other than 'created') are not counted. An issue comment is a pull request comment when its issue's pull_request object links to one (silver.is_pull_request_item); legacy Timeline issue comments (before 2015) say it only in the event's url (.../pull/N or .../issues/N), which silver reads; one without a url counts as an issue comment.
-- =============================================================================
SELECT r.repo_name, COUNT(*) AS comments,
       COUNT(*) FILTER (WHERE f.comment_kind = 'issue')        AS issue_comments,
       COUNT(*) FILTER (WHERE f.comment_kind = 'pull_request') AS pull_request_comments,
       COUNT(*) FILTER (WHERE f.comment_kind = 'review')       AS review_comments,
       COUNT(*) FILTER (WHERE f.comment_kind = 'commit')       AS commit_comments
FROM gold.fact_comments AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
  AND (f.action IS NULL OR f.action = 'created')
GROUP BY r.repo_name
ORDER BY comments DESC, r.repo_name;
