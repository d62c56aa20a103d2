-- =============================================================================
-- questions/open_pull_requests.sql — Pull requests open at the end of the range (--to, else now), per repository, within the loaded history.
--   grain:   one row per repository with at least one open pull request.
--   read by: analytics.py --question open_pull_requests [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: a pull request is open when it was opened on or before the day and not closed by its end, as far as the loaded history shows: one opened before the loaded history and never touched again is not seen, one closed outside it looks open. --from is ignored.
-- =============================================================================
SELECT r.repo_name, COUNT(*) AS open_pull_requests
FROM gold.v_pull_requests AS p
JOIN gold.dim_repos AS r ON r.repo_id = p.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND p.opened_at IS NOT NULL
  AND (%(to_date_id)s::INT IS NULL
       OR p.opened_at < to_date(%(to_date_id)s::TEXT, 'YYYYMMDD') + 1)
  AND (p.closed_at IS NULL
       OR (%(to_date_id)s::INT IS NOT NULL AND p.closed_at >= to_date(%(to_date_id)s::TEXT, 'YYYYMMDD') + 1))
GROUP BY r.repo_name
ORDER BY open_pull_requests DESC, r.repo_name;
