-- Releases: one repository's releases, newest first (Metabase, "GitHub repository" dashboard).
--   grain:   one row per release (ReleaseEvent 'published', or without an action); all
--            repositories when the Repository filter (template tag "repo") is empty.
--   read by: Metabase (dashboards/repository_dashboard.json); tests/test_questions.py runs it as gh_bi.
--   written: nobody.
SELECT r.repo_name, f.release_tag, f.release_name, f.is_prerelease, f.event_time AS released_at
FROM gold.fact_releases f
JOIN gold.dim_repos r ON r.repo_id = f.repo_id
WHERE (f.action IS NULL OR f.action = 'published') [[AND r.repo_name = {{repo}}]]
ORDER BY released_at DESC
LIMIT 200;
