-- =============================================================================
-- 0003_silver_reject_columns.sql — silver.events.reject_reason and sentinel_reason for
-- warehouses built before the reject rules (silver/ddl.sql creates them; the columns close the
-- table either way).
--   Before the baseline: silver/ddl.sql indexes reject_reason and the silver view and batch
--   function read both columns (IF EXISTS: a new warehouse gets them from the CREATE).
-- phase: before-baseline
-- =============================================================================
ALTER TABLE IF EXISTS silver.events ADD COLUMN IF NOT EXISTS reject_reason   TEXT;
ALTER TABLE IF EXISTS silver.events ADD COLUMN IF NOT EXISTS sentinel_reason TEXT;
