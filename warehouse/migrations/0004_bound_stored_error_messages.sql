-- =============================================================================
-- 0004_bound_stored_error_messages.sql — error messages stored before the bounding triggers of
-- bronze/ddl.sql existed are bounded the same way (a no-op where every message already is).
-- =============================================================================
UPDATE bronze.dead_letter_queue SET error_message = bronze.bounded_error_message(error_message)
 WHERE length(error_message) > bronze.error_message_max_chars();
UPDATE bronze.poll_log SET error_message = bronze.bounded_error_message(error_message)
 WHERE length(error_message) > bronze.error_message_max_chars();
UPDATE bronze.backfill_files SET error_message = bronze.bounded_error_message(error_message)
 WHERE length(error_message) > bronze.error_message_max_chars();
