-- =============================================================================
-- questions/top_stargazers.sql — Who gives stars: actors by stars given.
--   grain:   one row per actor (actor id) who starred at least once.
--   read by: analytics.py --question top_stargazers [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: one row per actor id, not per login: a login in both eras is two rows (README: two actors), told apart by actor_id and actor_format (legacy_timeline for a legacy login's surrogate id below -1, modern for GitHub's id, unknown for the sentinel unknownuser); actor_login is the actor's current login; the sentinel unknownuser collects events without a usable actor id.
-- =============================================================================
SELECT ac.actor_login, ac.actor_id,
       CASE WHEN ac.actor_id < -1 THEN 'legacy_timeline' WHEN ac.actor_id = -1 THEN 'unknown' ELSE 'modern' END AS actor_format,
       COUNT(*) AS stars, COUNT(DISTINCT f.repo_id) AS repositories
FROM gold.fact_stars AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
JOIN gold.dim_actors AS ac ON ac.actor_id = f.actor_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY ac.actor_id, ac.actor_login
ORDER BY stars DESC, ac.actor_login, ac.actor_id;
