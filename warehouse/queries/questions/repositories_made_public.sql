-- =============================================================================
-- questions/repositories_made_public.sql — Repositories made public (open-sourced), when and by whom.
--   grain:   one row per PublicEvent.
--   read by: analytics.py --question repositories_made_public [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: PublicEvent's payload is empty, so this reads gold.fact_events (no payload fact); a repository made private and public again has one row per PublicEvent. made_public_by is the event's actor, by current login.
-- =============================================================================
SELECT r.repo_name, ac.actor_login AS made_public_by, f.event_time AS made_public_at
FROM gold.fact_events AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
JOIN gold.dim_actors AS ac ON ac.actor_id = f.actor_id
WHERE f.event_type = 'PublicEvent'
  AND (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
ORDER BY made_public_at DESC, r.repo_name;
