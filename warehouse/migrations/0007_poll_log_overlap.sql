-- =============================================================================
-- 0007_poll_log_overlap.sql — bronze.poll_log.event_ids and is_complete (the listener's durable
-- overlap) for warehouses built before them; bronze/ddl.sql creates both columns.
--   Before the baseline: security/roles.sql and the listener read the columns (IF EXISTS: a new
--   warehouse has no table yet, and gets the columns from the CREATE).
-- phase: before-baseline
-- =============================================================================
ALTER TABLE IF EXISTS bronze.poll_log ADD COLUMN IF NOT EXISTS event_ids TEXT[];
ALTER TABLE IF EXISTS bronze.poll_log ADD COLUMN IF NOT EXISTS is_complete BOOLEAN NOT NULL DEFAULT FALSE;
