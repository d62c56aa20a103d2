-- =============================================================================
-- setup/summary_counts.sql — setup's closing figures: the days of gold.dim_date (count, first,
-- last), the event types of gold.dim_event_types and the rows of bronze.raw_events.
--   Grain: one row. Read by ghdw.core.schema (setup_db.py).
-- =============================================================================
SELECT (SELECT COUNT(*) FROM gold.dim_date),
       (SELECT MIN(full_date) FROM gold.dim_date), (SELECT MAX(full_date) FROM gold.dim_date),
       (SELECT COUNT(*) FROM gold.dim_event_types), (SELECT COUNT(*) FROM bronze.raw_events)
