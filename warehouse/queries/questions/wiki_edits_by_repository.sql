-- =============================================================================
-- questions/wiki_edits_by_repository.sql — Wiki activity per repository: wiki edit events and pages touched.
--   grain:   one row per repository with at least one GollumEvent.
--   read by: analytics.py --question wiki_edits_by_repository [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: wiki_edits counts GollumEvents (one event may create or edit several pages); pages sums the page objects of payload.pages over the events whose payload has that array (NULL when none has it), and partial is true when some events lack it. A page edited in two events counts twice.
-- =============================================================================
SELECT r.repo_name,
       COUNT(*) AS wiki_edits,
       SUM(f.pages_count) AS pages,
       COUNT(*) FILTER (WHERE f.pages_count IS NULL) > 0 AS partial
FROM gold.fact_wiki_edits AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
ORDER BY wiki_edits DESC, r.repo_name;
