-- =============================================================================
-- 0010_id_sentinel_reasons.sql — an actor/repository id that is not a GitHub id gets a reason
-- that says why (negative, larger than a BIGINT, not a whole number) instead of 'not a BIGINT'
-- (silver/ddl.sql). Reasons already stored in silver.events are left as they are.
-- =============================================================================

-- Nothing to run: the changed functions are silver.id_sentinel_reason(), silver.legacy_sentinel_reason() and silver.sentinel_reason()
-- (silver/ddl.sql) and their grants (security/roles.sql), which the baseline
-- re-creates on every setup (CREATE OR REPLACE, see migrations/README.md). This version records
-- the change of rule; stored rows are left as they are.
SELECT 1;
