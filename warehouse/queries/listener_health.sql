-- =============================================================================
-- queries/listener_health.sql — the listener's health figures from bronze.poll_log: the last
-- poll, its error, and the polls that suspected a gap in the last 24 hours.
--   Grain: one row. Read by ghdw.ops.health (`health.py`, `--only listener`: all the listener's
--   role may read). Index probes only, cheap enough for a 30 s healthcheck.
-- =============================================================================
SELECT (SELECT MAX(polled_at) FROM bronze.poll_log) AS last_poll_at,
       (SELECT error_message FROM bronze.poll_log ORDER BY polled_at DESC, poll_id DESC LIMIT 1) AS last_poll_error,
       (SELECT COUNT(*) FROM bronze.poll_log
         WHERE is_gap_suspected AND polled_at > now() - INTERVAL '24 hours') AS suspected_gaps_24h,
       now() AS checked_at
