-- =============================================================================
-- bronze/dlq/list_entries.sql — `dlq.py list`: the newest entries of bronze.dead_letter_queue,
-- open ones only unless asked for all; replay trace rows (replay_of set) are never listed.
--   Grain: one row per entry. Query parameters: all (BOOLEAN), limit (INTEGER), chars (INTEGER).
--   A text field (source, event id, error, resolution) longer than `chars` is cut, saying how
--   much is left and where to see it (dlq.py show --id N), so 20 entries stay one screenful.
-- =============================================================================
SELECT dlq_id,
       failed_at,
       CASE WHEN length(source) > %(chars)s
            THEN left(source, %(chars)s) || ' [... ' || (length(source) - %(chars)s)
                 || ' more chars: dlq.py show --id ' || dlq_id || ']'
            ELSE source END AS source,
       source_line,
       CASE WHEN length(event_id) > %(chars)s
            THEN left(event_id, %(chars)s) || ' [... ' || (length(event_id) - %(chars)s)
                 || ' more chars: dlq.py show --id ' || dlq_id || ']'
            ELSE event_id END AS event_id,
       CASE WHEN length(error_message) > %(chars)s
            THEN left(error_message, %(chars)s) || ' [... ' || (length(error_message) - %(chars)s)
                 || ' more chars: dlq.py show --id ' || dlq_id || ']'
            ELSE error_message END AS error_message,
       resolved_at,
       CASE WHEN length(resolution) > %(chars)s
            THEN left(resolution, %(chars)s) || ' [... ' || (length(resolution) - %(chars)s)
                 || ' more chars: dlq.py show --id ' || dlq_id || ']'
            ELSE resolution END AS resolution,
       length(raw_text) AS raw_chars
  FROM bronze.dead_letter_queue
 WHERE replay_of IS NULL AND (%(all)s OR resolved_at IS NULL)
 ORDER BY dlq_id DESC
 LIMIT %(limit)s
