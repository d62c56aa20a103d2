-- =============================================================================
-- setup/other_sessions.sql — the other sessions of this warehouse's programs (the listener, the
-- scheduler, a backfill) connected to this database while setup upgraded it: each still runs
-- the code it started with, so setup tells the operator to restart them.
--   Grain: one row per session (pid, application_name, the role, since when).
--   Read by ghdw.core.schema (setup_db.py) after it applied a migration. Parameter: app.
-- =============================================================================
SELECT a.pid, a.usename, a.backend_start
  FROM pg_stat_activity AS a
 WHERE a.datname = current_database()
   AND a.pid <> pg_backend_pid()
   AND a.application_name = %(app)s
 ORDER BY a.backend_start
