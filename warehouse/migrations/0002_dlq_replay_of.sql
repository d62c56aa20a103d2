-- =============================================================================
-- 0002_dlq_replay_of.sql — bronze.dead_letter_queue.replay_of for warehouses built before it.
--   dlq.py replay records a replay that fails again as its own row pointing at the entry it
--   retried. bronze/ddl.sql creates the column; this adds it to an older table.
--   Before the baseline: bronze/ddl.sql may come to rely on the column (IF EXISTS: a new warehouse
--   has no table yet, and gets the column from its CREATE).
-- phase: before-baseline
-- =============================================================================
ALTER TABLE IF EXISTS bronze.dead_letter_queue ADD COLUMN IF NOT EXISTS replay_of BIGINT;
