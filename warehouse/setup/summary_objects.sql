-- =============================================================================
-- setup/summary_objects.sql — what setup built: every table and view of bronze, silver and
-- gold with its estimated row count (pg_class.reltuples), for setup's closing summary.
--   Grain: one row per table or view. Read by ghdw.core.schema (setup_db.py).
-- =============================================================================
SELECT n.nspname || '.' || c.relname,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' END,
       c.reltuples
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('bronze', 'silver', 'gold') AND c.relkind IN ('r', 'v')
ORDER BY n.nspname, c.relname
