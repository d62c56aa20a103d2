-- =============================================================================
-- questions/release_timeline.sql — When releases came out: every release with its tag.
--   grain:   one row per release (counting rule of releases_by_repository).
--   read by: analytics.py --question release_timeline [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: released_at is the event's time (the publication); is_prerelease NULL when the payload does not say.
-- =============================================================================
SELECT r.repo_name, f.release_tag, f.release_name, f.is_prerelease, f.event_time AS released_at
FROM gold.fact_releases AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
  AND (f.action IS NULL OR f.action = 'published')
ORDER BY released_at DESC, r.repo_name, f.release_tag;
