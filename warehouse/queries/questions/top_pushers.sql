-- =============================================================================
-- questions/top_pushers.sql — Who pushes the most: actors by pushes and commits.
--   grain:   one row per actor with at least one push.
--   read by: analytics.py --question top_pushers [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: commits sums payload.size where present; partial as in commits_by_repository.
-- =============================================================================
SELECT ac.actor_login, COUNT(*) AS pushes, SUM(f.push_size) AS commits,
       COUNT(*) > COUNT(f.push_size) AS partial
FROM gold.fact_pushes AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
JOIN gold.dim_actors AS ac ON ac.actor_id = f.actor_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY ac.actor_login
ORDER BY pushes DESC, ac.actor_login
LIMIT 100;
