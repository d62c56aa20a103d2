-- =============================================================================
-- 0009_legacy_id_utc_and_actor.sql — the legacy Timeline synthetic id (bronze/ddl.sql) puts
-- created_at's UTC time in front ('notime' when created_at is missing or not a timestamp, so the
-- id is never NULL) and hashes the UTC time and silver's actor identity (actor, else
-- actor_attributes.login, lower-cased) instead of the raw created_at and actor.
--   Ids of legacy events already in bronze are not rewritten (bronze is append-only): reloading
--   legacy files stored under the old rule stores their events again under new ids. The legacy
--   format is new in this release; a warehouse that loaded legacy files before it should rebuild
--   bronze's legacy rows (or reload into a fresh warehouse) rather than load them again.
-- =============================================================================

-- Nothing to run: the changed functions are bronze.legacy_event_time(), bronze.legacy_actor_login() and bronze.legacy_event_id() (bronze/ddl.sql)
-- and their grants (security/roles.sql), which the baseline
-- re-creates on every setup (CREATE OR REPLACE, see migrations/README.md). This version records
-- the change of rule; stored rows are left as they are.
SELECT 1;
