-- =============================================================================
-- 0005_silver_time_or_reject_reason.sql — every silver row that gold cannot place in time says why.
--   Rows an earlier version stored with no usable time were dropped silently by silver.v_events
--   (and never reached gold): each gets its reason, from the event in bronze. Then the CHECK
--   constraint makes a silent drop impossible from here on.
-- =============================================================================
UPDATE silver.events AS s
   SET reject_reason = COALESCE(
           (SELECT silver.reject_reason(b.event_id, b.raw_data -> 'type', b.raw_data -> 'created_at',
                                        silver.event_time_of(b.raw_data -> 'created_at'))
              FROM bronze.raw_events AS b
             WHERE b.event_id = s.event_id),
           'created_at not read as a timestamp by an earlier version')
 WHERE s.event_time IS NULL
   AND s.reject_reason IS NULL;

-- No silent drop: a row gold cannot place in time must say why it stays out.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conname = 'chk_silver_events_time_or_reject_reason'
                      AND conrelid = 'silver.events'::regclass) THEN
        ALTER TABLE silver.events ADD CONSTRAINT chk_silver_events_time_or_reject_reason
            CHECK (event_time IS NOT NULL OR reject_reason IS NOT NULL);
    END IF;
END;
$$;
