-- =============================================================================
-- bronze/load/load_parsed.sql — step 0, the fast path: every staged document into
-- bronze.raw_events in one statement.
--   Input: pg_temp.bronze_staging_jsonb (COPY parsed each line as jsonb). Query parameter: source.
--   event_id: GitHub's id, or the synthetic id of a legacy Timeline event (bronze.event_id_of(),
--   rule in bronze/ddl.sql). A line that is neither makes event_id NULL, so the NOT NULL constraint
--   fails the statement and the batch falls back to load_lines.sql, which dead-letters exactly
--   that line with a precise reason.
--   Output: one row (documents staged, events inserted); duplicates are the difference.
-- =============================================================================
WITH inserted AS (
    INSERT INTO bronze.raw_events (event_id, raw_data, source)
    SELECT bronze.event_id_of(d.doc), d.doc, %(source)s
      FROM pg_temp.bronze_staging_jsonb AS s
      -- The staged document read once (#> '{}' returns it detoasted; OFFSET 0 keeps it one
      -- value): the id rule reads "id" several times, each a fetch from the staging table's toast.
     CROSS JOIN LATERAL (SELECT s.doc #> '{}' AS doc OFFSET 0) AS d
     WHERE s.doc IS NOT NULL
    ON CONFLICT (event_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM pg_temp.bronze_staging_jsonb WHERE doc IS NOT NULL),
       (SELECT COUNT(*) FROM inserted)
