-- Forks per week: one repository's forks per week (Metabase, "GitHub repository" dashboard).
--   grain:   one row per ISO week (Monday start) with any of them; all repositories when the
--            dashboard's Repository filter (template tag "repo": the repository's current name) is empty.
--   read by: Metabase (dashboards/repository_dashboard.json); tests/test_questions.py runs it as gh_bi.
--   written: nobody. Counting rules: warehouse/queries/questions/*_by_repository.sql.
SELECT date_trunc('week', d.full_date)::DATE AS week_start, SUM(a.forks) AS forks
FROM gold.agg_repo_daily_activity a
JOIN gold.dim_repos r ON r.repo_id = a.repo_id
JOIN gold.dim_date d ON d.date_id = a.date_id
WHERE TRUE [[AND r.repo_name = {{repo}}]]
GROUP BY 1
HAVING SUM(a.forks) > 0
ORDER BY 1;
