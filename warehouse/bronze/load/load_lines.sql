-- =============================================================================
-- bronze/load/load_lines.sql — the line-aware load: staged lines into bronze.raw_events, each line
-- that is not an event into bronze.dead_letter_queue with its reason, in one statement.
--   Input: pg_temp.bronze_staging. Query parameters (named, psycopg2 style):
--     source       the source recorded on every row ('api', a file name, ...)
--     first_line   the input line of the first staged row (NULL: the input has no line numbers)
--     line_step    lines between staged rows (1; an array one element per line may differ)
--     line_numbers the input line of each staged row, by line_no (NULL: first_line and line_step)
--     careful      FALSE: the set-based load (a bad line fails the statement);
--                  TRUE: the validating load (a bad line is dead-lettered with its reason)
--     line_no      NULL: every staged line; a number: that line only (the row-by-row
--                  fallback, one SAVEPOINT per line)
--   event_id: GitHub's id, or the synthetic id of a legacy Timeline event (bronze.event_id_of(),
--   rule in bronze/ddl.sql).
--   \u0000 (which jsonb refuses) is repaired to \ufffd; the original line is kept alongside.
--   Output: one row (valid events, inserted, inserted after repair, rejected, newly dead-lettered:
--   a rejected text already in the DLQ at that line of that source is not stored twice).
--   Read by nothing else; written by ghdw.bronze_loader for the listener, file loads and backfill.
-- =============================================================================
WITH staged AS (
    SELECT COALESCE((%(line_numbers)s::BIGINT[])[st.line_no],
                    %(first_line)s::BIGINT + (st.line_no - 1) * %(line_step)s) AS source_line,
           st.line,
           -- \u0000 preceded by an even number of backslashes is the escape jsonb rejects.
           CASE WHEN strpos(st.line, '\u0000') > 0
                THEN regexp_replace(st.line, '(?<!\\)((?:\\\\)*)\\u0000', '\1\\ufffd', 'g')
           END AS repaired
      FROM pg_temp.bronze_staging AS st
     WHERE st.line IS NOT NULL
       AND (%(line_no)s::BIGINT IS NULL OR st.line_no = %(line_no)s)
),
texts AS (
    SELECT source_line, line, COALESCE(repaired, line) AS clean,
           repaired IS NOT NULL AND repaired <> line AS is_repaired
      FROM staged
),
parsed AS MATERIALIZED (
    -- careful = FALSE: a plain cast, fast, and the whole statement fails on one bad line.
    -- careful = TRUE: each line is checked first, and a bad one carries PostgreSQL's reason.
    SELECT source_line, line, is_repaired,
           CASE WHEN %(careful)s AND NOT pg_input_is_valid(clean, 'jsonb') THEN NULL
                ELSE clean::jsonb END AS doc,
           CASE WHEN %(careful)s AND NOT pg_input_is_valid(clean, 'jsonb')
                THEN (SELECT 'invalid JSON: ' || i.message || COALESCE(' (' || i.detail || ')', '')
                        FROM pg_input_error_info(clean, 'jsonb') AS i)
           END AS parse_error
      FROM texts
),
checked AS MATERIALIZED (
    SELECT source_line, line, is_repaired, doc,
           CASE WHEN parse_error IS NOT NULL THEN parse_error
                WHEN jsonb_typeof(doc) <> 'object'
                    THEN 'not an event: JSON ' || jsonb_typeof(doc) || ', expected an object'
                WHEN jsonb_typeof(doc -> 'id') IN ('string', 'number')
                     AND starts_with(doc ->> 'id', bronze.legacy_id_prefix())
                    THEN 'not an event: "id" starts with ' || bronze.legacy_id_prefix()
                         || ', the prefix reserved for synthetic ids of legacy Timeline events'
                WHEN bronze.event_id_of(doc) IS NULL
                    THEN 'not an event: no "id" string or number, and not a legacy Timeline event'
                         || ' (no actor login string, actor_attributes or repository)'
           END AS reject_reason
      FROM parsed
),
dead AS (
    INSERT INTO bronze.dead_letter_queue (event_id, raw_text, error_message, source, source_line)
    SELECT CASE WHEN jsonb_typeof(doc) = 'object' THEN doc ->> 'id' END,
           line, reject_reason, %(source)s, source_line
      FROM checked
     WHERE reject_reason IS NOT NULL
    ON CONFLICT DO NOTHING  -- already dead-lettered by an earlier load of the same input
    RETURNING 1
),
inserted AS (
    INSERT INTO bronze.raw_events (event_id, raw_data, source, is_repaired, original_text)
    SELECT bronze.event_id_of(doc), doc, %(source)s, is_repaired, CASE WHEN is_repaired THEN line END
      FROM checked
     WHERE reject_reason IS NULL
    ON CONFLICT (event_id) DO NOTHING
    RETURNING is_repaired
)
SELECT (SELECT COUNT(*) FROM checked WHERE reject_reason IS NULL),
       (SELECT COUNT(*) FROM inserted),
       (SELECT COUNT(*) FROM inserted WHERE is_repaired),
       (SELECT COUNT(*) FROM checked WHERE reject_reason IS NOT NULL),
       (SELECT COUNT(*) FROM dead)
