-- =============================================================================
-- bronze/dlq/verify_replay.sql — after a DLQ replay (dlq.py replay): per entry, how many texts
-- were replayed and how many of their event ids are now in bronze.raw_events.
--   Grain: one row per replayed entry (dlq_id, texts, in_bronze).
--   Query parameters: ids (BIGINT[]) and lines (TEXT[]), the entry of each replayed text.
--   The \u0000 repair is the loader's (bronze/load/load_lines.sql), so an event id is computed
--   here exactly as the loader stored it, by the loader's own rule (bronze.event_id_of(): GitHub's
--   id, or a legacy Timeline event's synthetic id). A text that is not an event has no id and so
--   is never "in bronze".
-- =============================================================================
WITH texts AS (
    SELECT t.dlq_id, regexp_replace(t.line, '(?<!\\)((?:\\\\)*)\\u0000', '\1\\ufffd', 'g') AS clean
      FROM unnest(%(ids)s::BIGINT[], %(lines)s::TEXT[]) AS t(dlq_id, line)
),
parsed AS (
    SELECT dlq_id, CASE WHEN pg_input_is_valid(clean, 'jsonb') THEN clean::jsonb END AS doc
      FROM texts
),
keyed AS (
    SELECT dlq_id,
           bronze.event_id_of(doc) AS event_id
      FROM parsed
)
SELECT k.dlq_id, COUNT(*) AS texts, COUNT(r.event_id) AS in_bronze
  FROM keyed AS k
  LEFT JOIN bronze.raw_events AS r ON r.event_id = k.event_id
 GROUP BY k.dlq_id
