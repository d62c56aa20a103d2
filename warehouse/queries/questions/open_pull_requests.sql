-- =============================================================================
-- questions/open_pull_requests.sql — Pull requests open at the end of the range (--to, else now), per repository, within the loaded history.
--   grain:   one row per repository with at least one open pull request.
--   read by: analytics.py --question open_pull_requests [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: a pull request is open at the end of the day when the last of its opened / reopened / closed events up to then (by time, then GitHub's event id) is opened or reopened, so a reopened one is open again. With none of those events loaded up to the day, it counts as open when its opening (the 'opened' event, else the payload's created_at) is on or before the day and no close is known before the day's end (the first close event, or the payload's closed_at): one opened before the loaded history and never touched again is not seen, one closed outside it looks open. --from is ignored.
-- =============================================================================
WITH range_end AS (
    -- The first instant after --to (NULL: now). Built from the id's integer parts, which reads
    -- every day from 0001-01-01 to 9999-12-31 (to_date() of its text misreads years before 1000).
    SELECT make_date(%(to_date_id)s::INT / 10000, mod(%(to_date_id)s::INT / 100, 100), mod(%(to_date_id)s::INT, 100)) + 1
               AS end_at
), last_lifecycle_events AS (
    -- Each pull request's latest opened / reopened / closed event up to the end of the range;
    -- events in the same second are ordered by GitHub's id as a number (shorter id, smaller number).
    SELECT DISTINCT ON (f.repo_id, f.pr_number) f.repo_id, f.pr_number, f.action
    FROM gold.fact_pull_request_events AS f
    WHERE f.pr_number IS NOT NULL
      AND f.action IN ('opened', 'reopened', 'closed')
      AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
    ORDER BY f.repo_id, f.pr_number, f.event_time DESC, length(f.event_id) DESC, f.event_id DESC
), open_pull_requests AS (
    SELECT p.repo_id, p.pr_number
    FROM gold.v_pull_requests AS p
    CROSS JOIN range_end AS e
    LEFT JOIN last_lifecycle_events AS l ON l.repo_id = p.repo_id AND l.pr_number = p.pr_number
    WHERE CASE WHEN l.action IS NOT NULL THEN l.action IN ('opened', 'reopened')
               -- No such event in the loaded history up to the day: its payload's times decide.
               ELSE p.opened_at IS NOT NULL
                    AND (e.end_at IS NULL OR p.opened_at < e.end_at)
                    AND (p.closed_at IS NULL OR p.closed_at >= e.end_at) END
)
SELECT r.repo_name, COUNT(*) AS open_pull_requests
FROM open_pull_requests AS o
JOIN gold.dim_repos AS r ON r.repo_id = o.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
GROUP BY r.repo_name
ORDER BY open_pull_requests DESC, r.repo_name;
