-- =============================================================================
-- bronze/listener/recent_event_ids.sql — the newest event ids the listener stored, of every
-- poll or of complete polls only, newest first: the overlap a restarted listener resumes with.
--   Grain: one row per (poll, event id). Read by ghdw.main (Listener) at start-up.
--   Query parameters: complete_only (BOOLEAN), kept (INTEGER: how many ids).
-- =============================================================================
SELECT u.event_id
  FROM bronze.poll_log AS p
 CROSS JOIN LATERAL unnest(p.event_ids) WITH ORDINALITY AS u (event_id, position)
 WHERE p.is_complete OR NOT %(complete_only)s
 ORDER BY p.poll_id DESC, u.position
 LIMIT %(kept)s
