-- =============================================================================
-- questions/collaborators_added.sql — Who was given access: collaborators added to repositories, and by whom.
--   grain:   one row per collaborator added (MemberEvent with action 'added', or without an action).
--   read by: analytics.py --question collaborators_added [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: member_login is the login the payload named (a string in the oldest legacy payloads, NULL when it names none); added_by is the event's actor, by current login. The Events API sends only 'added': removals are not in the data.
-- =============================================================================
SELECT r.repo_name, f.member_login, ac.actor_login AS added_by, f.event_time AS added_at
FROM gold.fact_members AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
JOIN gold.dim_actors AS ac ON ac.actor_id = f.actor_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
  AND (f.action IS NULL OR f.action = 'added')
ORDER BY added_at DESC, r.repo_name, f.member_login;
