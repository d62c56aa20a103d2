-- =============================================================================
-- questions/issue_labels.sql — The most used issue labels.
--   grain:   one row per label on issues opened in the range.
--   read by: analytics.py --question issue_labels [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: labels as the 'opened' IssuesEvent carried them (labels added later appear on 'labeled' events, not counted); issues whose payload has no labels field count in no row.
-- =============================================================================
SELECT label, COUNT(*) AS issues
FROM gold.fact_issue_events AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
CROSS JOIN LATERAL unnest(f.labels) AS label
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
  AND f.action = 'opened'
GROUP BY label
ORDER BY issues DESC, label;
