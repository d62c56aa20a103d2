-- =============================================================================
-- 0014_silver_unread_indexes.sql — drops three indexes of silver.events that nothing reads.
--   grain:   one run; on a new warehouse (silver/ddl.sql no longer creates them) a no-op.
--   written: the indexes idx_silver_events_event_time, _event_type, _processed_at (no rows change).
--   read:    nothing.
-- Why: the pipeline reads silver by processed_xid (gold's incremental range) and event_id; the
-- health checks by the partial index of rejected rows; analysts and the question suite read gold.
-- Each of these indexes was maintained on every silver insert for no reader: together about
-- 12 % of a silver batch (100,000 events: 9.8 s with them, 8.6 s without).
-- =============================================================================

DROP INDEX IF EXISTS silver.idx_silver_events_event_time;
DROP INDEX IF EXISTS silver.idx_silver_events_event_type;
DROP INDEX IF EXISTS silver.idx_silver_events_processed_at;
