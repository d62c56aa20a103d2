-- =============================================================================
-- questions/pull_request_reviews_by_state.sql — Pull request reviews per repository, by outcome.
--   grain:   one row per repository with at least one review.
--   read by: analytics.py --question pull_request_reviews_by_state [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: state of PullRequestReviewEvent (approved, changes_requested, commented, dismissed); a state the payload lacks counts only in reviews.
-- =============================================================================
SELECT r.repo_name, COUNT(*) AS reviews,
       COUNT(*) FILTER (WHERE f.review_state = 'approved')          AS approved,
       COUNT(*) FILTER (WHERE f.review_state = 'changes_requested') AS changes_requested,
       COUNT(*) FILTER (WHERE f.review_state = 'commented')         AS commented
FROM gold.fact_pull_request_reviews AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
ORDER BY reviews DESC, r.repo_name;
