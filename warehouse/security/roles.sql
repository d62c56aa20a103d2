-- =============================================================================
-- security/roles.sql — least-privilege roles for the services, and what each may touch.
--
--   gh_ingestion  the bronze listener and backfill: INSERT into bronze.raw_events, its
--                 dead-letter queue and poll log; its own backfill bookkeeping; reads back
--                 only the id columns it dedups on. Nothing in silver or gold.
--   gh_etl        the silver + gold scheduler (and health.py): reads bronze, writes silver
--                 and gold (INSERT/UPDATE; no DELETE, no DDL on the warehouse's tables).
--   gh_bi         Metabase, report.py, analysts: SELECT on gold and nothing else, in
--                 read-only transactions by default, with a statement timeout.
--   grain:   one row per role in pg_roles (cluster-wide) plus the grants of this database.
--   written: setup_db.py (after the schema files); it then sets LOGIN and a password for each
--            role whose password variable is set (INGESTION_DB_PASS, ETL_DB_PASS, BI_DB_PASS);
--            a role without a password cannot log in.
--   read:    PostgreSQL's privilege checks; tests/test_roles.py.
-- Idempotent: roles are created only when missing; GRANT/REVOKE repeat harmlessly.
-- =============================================================================

DO $$
DECLARE
    r TEXT;
BEGIN
    FOREACH r IN ARRAY ARRAY['gh_ingestion', 'gh_etl', 'gh_bi'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', r);
        END IF;
    END LOOP;
END;
$$;

-- Start from nothing on every warehouse object, then grant exactly what each role needs.
REVOKE ALL ON ALL TABLES IN SCHEMA bronze, silver, gold FROM gh_ingestion, gh_etl, gh_bi;
REVOKE ALL ON SCHEMA bronze, silver, gold FROM gh_ingestion, gh_etl, gh_bi;

-- --- gh_ingestion -------------------------------------------------------------------------
GRANT USAGE ON SCHEMA bronze TO gh_ingestion;
GRANT INSERT ON bronze.raw_events, bronze.dead_letter_queue, bronze.poll_log TO gh_ingestion;
-- The loader's RETURNING and the listener's restart dedup read back ids, never payloads.
GRANT SELECT (event_id, raw_event_id, source, is_repaired) ON bronze.raw_events TO gh_ingestion;
-- health.py --only listener reads the poll log; backfill.py keeps its per-file outcome.
GRANT SELECT ON bronze.poll_log TO gh_ingestion;
GRANT SELECT, INSERT, UPDATE ON bronze.backfill_files TO gh_ingestion;

-- --- gh_etl -------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA bronze, silver, gold TO gh_etl;
GRANT SELECT ON ALL TABLES IN SCHEMA bronze TO gh_etl;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA silver, gold TO gh_etl;

-- --- gh_bi --------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA gold TO gh_bi;
GRANT SELECT ON ALL TABLES IN SCHEMA gold TO gh_bi;
ALTER ROLE gh_bi SET default_transaction_read_only = on;
ALTER ROLE gh_bi SET statement_timeout = '60s';

-- Tables the warehouse owner adds later get the same grants without another setup run.
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT SELECT ON TABLES TO gh_bi;
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT SELECT, INSERT, UPDATE ON TABLES TO gh_etl;
ALTER DEFAULT PRIVILEGES IN SCHEMA silver GRANT SELECT, INSERT, UPDATE ON TABLES TO gh_etl;
ALTER DEFAULT PRIVILEGES IN SCHEMA bronze GRANT SELECT ON TABLES TO gh_etl;
