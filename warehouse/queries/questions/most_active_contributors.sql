-- =============================================================================
-- questions/most_active_contributors.sql — Most active contributors: actors by pushes, pull requests opened, issues opened and comments.
--   grain:   one row per actor (actor id) with at least one of those.
--   read by: analytics.py --question most_active_contributors [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: one row per actor id, not per login: a login in both eras is two rows (README: two actors), told apart by actor_id and actor_format (legacy_timeline for a legacy login's surrogate id below -1, modern for GitHub's id, unknown for the sentinel unknownuser); actor_login is the actor's current login. activity = pushes + pull requests opened + issues opened + comments; stars and forks are not contributions; bots count like people.
-- =============================================================================
WITH acts AS (
    SELECT f.actor_id, f.repo_id, f.date_id, 'push' AS kind FROM gold.fact_pushes AS f
    UNION ALL
    SELECT f.actor_id, f.repo_id, f.date_id, 'pull_request' FROM gold.fact_pull_request_events AS f WHERE f.action = 'opened'
    UNION ALL
    SELECT f.actor_id, f.repo_id, f.date_id, 'issue' FROM gold.fact_issue_events AS f WHERE f.action = 'opened'
    UNION ALL
    SELECT f.actor_id, f.repo_id, f.date_id, 'comment' FROM gold.fact_comments AS f
)
SELECT ac.actor_login, ac.actor_id,
       CASE WHEN ac.actor_id < -1 THEN 'legacy_timeline' WHEN ac.actor_id = -1 THEN 'unknown' ELSE 'modern' END AS actor_format,
       COUNT(*) AS activity,
       COUNT(*) FILTER (WHERE f.kind = 'push') AS pushes,
       COUNT(*) FILTER (WHERE f.kind = 'pull_request') AS pull_requests_opened,
       COUNT(*) FILTER (WHERE f.kind = 'issue') AS issues_opened,
       COUNT(*) FILTER (WHERE f.kind = 'comment') AS comments
FROM acts AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
JOIN gold.dim_actors AS ac ON ac.actor_id = f.actor_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY ac.actor_id, ac.actor_login
ORDER BY activity DESC, ac.actor_login, ac.actor_id
LIMIT 100;
