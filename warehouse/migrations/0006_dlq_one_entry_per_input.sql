-- =============================================================================
-- 0006_dlq_one_entry_per_input.sql — one DLQ entry per bad input, for warehouses built before it.
--   bronze/ddl.sql builds uq_dead_letter_queue_entry (one entry per source, line and text) and
--   creates the column duplicate_of. On an older warehouse, duplicates stored before the index
--   existed are kept as evidence, linked to the first entry by duplicate_of and closed, so that
--   the index can be built.
--   Before the baseline: the index must find no duplicates. A new warehouse has no table yet
--   (the guard), and gets the column from the CREATE.
-- phase: before-baseline
-- =============================================================================
DO $$
BEGIN
    IF to_regclass('bronze.dead_letter_queue') IS NULL THEN
        RETURN;
    END IF;
    ALTER TABLE bronze.dead_letter_queue ADD COLUMN IF NOT EXISTS duplicate_of BIGINT;
    WITH entries AS (
        SELECT dlq_id,
               MIN(dlq_id) OVER (PARTITION BY source, COALESCE(source_line, -1), md5(raw_text)) AS first_dlq_id
          FROM bronze.dead_letter_queue
         WHERE replay_of IS NULL AND duplicate_of IS NULL
    )
    UPDATE bronze.dead_letter_queue AS q
       SET duplicate_of = e.first_dlq_id,
           resolved_at = COALESCE(q.resolved_at, now()),
           resolution = COALESCE(q.resolution, 'duplicate of #' || e.first_dlq_id)
      FROM entries AS e
     WHERE q.dlq_id = e.dlq_id AND e.dlq_id <> e.first_dlq_id;
END;
$$;
