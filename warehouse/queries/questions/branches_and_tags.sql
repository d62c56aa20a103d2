-- =============================================================================
-- questions/branches_and_tags.sql — Branches, tags and repositories created and deleted, per repository.
--   grain:   one row per repository with a CreateEvent or DeleteEvent.
--   read by: analytics.py --question branches_and_tags [--repo owner/name] [--from DATE --to DATE] --json,
--            Metabase, tests/test_questions.py. Runs as gh_bi (reads gold only).
--   written: nobody (a query). Parameters: %(repo)s (a repository's current name, or NULL for
--            all), %(from_date_id)s / %(to_date_id)s (inclusive UTC days as YYYYMMDD, or NULL).
--   caveats: from CreateEvent / DeleteEvent ref_type; a ref_type the payload lacks is counted in none of the columns but in events.
-- =============================================================================
SELECT r.repo_name,
       COUNT(*) FILTER (WHERE f.is_created AND f.ref_type = 'branch')     AS branches_created,
       COUNT(*) FILTER (WHERE NOT f.is_created AND f.ref_type = 'branch') AS branches_deleted,
       COUNT(*) FILTER (WHERE f.is_created AND f.ref_type = 'tag')        AS tags_created,
       COUNT(*) FILTER (WHERE NOT f.is_created AND f.ref_type = 'tag')    AS tags_deleted,
       COUNT(*) FILTER (WHERE f.is_created AND f.ref_type = 'repository') AS repositories_created,
       COUNT(*) AS events
FROM gold.fact_refs AS f
JOIN gold.dim_repos AS r ON r.repo_id = f.repo_id
WHERE (%(repo)s::TEXT IS NULL OR r.repo_name = %(repo)s)
  AND (%(from_date_id)s::INT IS NULL OR f.date_id >= %(from_date_id)s)
  AND (%(to_date_id)s::INT IS NULL OR f.date_id <= %(to_date_id)s)
GROUP BY r.repo_name
ORDER BY events DESC, r.repo_name;
