-- =============================================================================
-- bronze/listener/record_poll.sql — the poll log: record one poll of GitHub's /events in
-- bronze.poll_log (one row per poll), in the same transaction as the poll's events.
--   Written by ghdw.main (Listener._record), also for a poll whose load failed (with its error).
--   Query parameters, in order: pages, events fetched, events new, inserted, duplicates, errors,
--   HTTP status, rate-limit remaining, rate-limit reset (epoch seconds), poll interval (s),
--   is_gap_suspected, duration (ms), error message, event ids (the overlap), is_complete.
-- =============================================================================
INSERT INTO bronze.poll_log (pages, events_fetched, events_new, inserted, duplicates, errors,
    http_status, rate_limit_remaining, rate_limit_reset_at, poll_interval_seconds,
    is_gap_suspected, duration_ms, error_message, event_ids, is_complete)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s, %s, %s, %s, %s::TEXT[], %s)
