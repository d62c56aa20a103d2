-- =============================================================================
-- questions/pull_request_time_to_merge.sql — How long merged pull requests stayed open, per repository.
--   grain:   one row per repository with at least one merged pull request whose opening time is known.
--   read by: analytics.py --question pull_request_time_to_merge [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: time from the pull request's created_at (payload) or its 'opened' event to its merge, for pull requests merged in the range; hours; pull requests whose payload lacks created_at and whose opening is not in the loaded history are left out (merged_without_open_time counts them).
-- =============================================================================
WITH merged AS (
    SELECT f.repo_id, f.pr_number, MIN(f.event_time) AS merged_at, MIN(f.date_id) AS date_id
    FROM gold.fact_pull_request_events AS f
    WHERE f.action = 'closed' AND f.is_merged AND f.pr_number IS NOT NULL
    GROUP BY f.repo_id, f.pr_number
), opened AS (
    SELECT p.repo_id, p.pr_number, p.opened_at FROM gold.v_pull_requests AS p
)
SELECT r.repo_name, COUNT(o.opened_at) AS merged,
       ROUND((EXTRACT(EPOCH FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY m.merged_at - o.opened_at)) / 3600)::NUMERIC, 2)
           AS median_hours_to_merge,
       ROUND((EXTRACT(EPOCH FROM AVG(m.merged_at - o.opened_at)) / 3600)::NUMERIC, 2) AS mean_hours_to_merge,
       COUNT(*) - COUNT(o.opened_at) AS merged_without_open_time
FROM merged AS m
JOIN gold.dim_repos AS r ON r.repo_id = m.repo_id
LEFT JOIN opened AS o ON o.repo_id = m.repo_id AND o.pr_number = m.pr_number
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR m.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR m.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
ORDER BY merged DESC, r.repo_name;
