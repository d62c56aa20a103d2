-- =============================================================================
-- 0008_event_format.sql — event_format ('modern' or 'legacy_timeline') on silver.events and
-- gold.fact_events, for warehouses built before GH Archive's legacy Timeline format was loaded
-- (silver/ddl.sql and gold/05_fact_events.sql create both columns and checks).
--   Every event stored before this change came in the modern format: the default says so, and
--   with a constant default PostgreSQL adds the column without rewriting the table.
--   Before the baseline: silver.v_events, silver.load_batch() and the gold ETL read the columns
--   (IF EXISTS: a new warehouse has no tables yet, and gets the columns from the CREATE).
-- phase: before-baseline
-- =============================================================================
ALTER TABLE IF EXISTS silver.events ADD COLUMN IF NOT EXISTS event_format TEXT NOT NULL DEFAULT 'modern';
ALTER TABLE IF EXISTS gold.fact_events ADD COLUMN IF NOT EXISTS event_format TEXT NOT NULL DEFAULT 'modern';

DO $$
BEGIN
    IF to_regclass('silver.events') IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_constraint WHERE conname = 'chk_silver_events_event_format'
    ) THEN
        ALTER TABLE silver.events ADD CONSTRAINT chk_silver_events_event_format
            CHECK (event_format IN ('modern', 'legacy_timeline'));
    END IF;
    IF to_regclass('gold.fact_events') IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_constraint WHERE conname = 'chk_fact_events_event_format'
    ) THEN
        ALTER TABLE gold.fact_events ADD CONSTRAINT chk_fact_events_event_format
            CHECK (event_format IN ('modern', 'legacy_timeline'));
    END IF;
END;
$$;
