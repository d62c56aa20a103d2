-- =============================================================================
-- questions/stars_by_weekday.sql — The best weekday for stars: stars per day of the week (UTC).
--   grain:   one row per weekday with at least one star.
--   read by: analytics.py --question stars_by_weekday [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: weekday of the event's UTC time (1 = Monday ... 7 = Sunday); not normalised by how many of each weekday the range holds.
-- =============================================================================
SELECT EXTRACT(ISODOW FROM d.full_date)::INT AS iso_weekday, to_char(d.full_date, 'FMDay') AS weekday,
       SUM(a.stars) AS stars
FROM gold.agg_repo_daily_activity AS a
JOIN gold.dim_repos AS r ON r.repo_id = a.repo_id
JOIN gold.dim_date AS d ON d.date_id = a.date_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR a.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR a.date_id <= %(to_date_id)s)
GROUP BY 1, 2
HAVING SUM(a.stars) > 0
ORDER BY stars DESC, iso_weekday;
