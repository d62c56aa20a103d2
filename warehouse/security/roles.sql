-- =============================================================================
-- security/roles.sql — least-privilege roles for the services, and what each may touch.
--
--   gh_ingestion  the bronze listener and backfill: INSERT into bronze.raw_events, its
--                 dead-letter queue and poll log; its own backfill bookkeeping; reads back
--                 only the id columns it dedups on. Nothing in silver or gold.
--                 It cannot set the columns the database fills in: raw_events.ingest_xid,
--                 ingested_at and raw_event_id (silver reads bronze in (ingest_xid,
--                 raw_event_id) order, so a forged ingest_xid would hide a row from silver),
--                 nor poll_log.polled_at (a forged one would make a dead listener look fresh).
--   gh_etl        the silver + gold scheduler (and health.py): reads bronze, writes silver
--                 and gold (INSERT/UPDATE; no DELETE, no DDL on the warehouse's tables).
--                 silver.events.processed_xid / processed_at (gold's watermark) are set by
--                 the database, never by the role.
--   gh_bi         Metabase, report.py, analysts: SELECT on gold and nothing else, in
--                 read-only transactions by default, with a statement timeout.
--
-- What PostgreSQL lets every role change about itself, whatever is granted here:
--   its own session settings (SET default_transaction_read_only = off, SET statement_timeout
--   = 0, SET work_mem, ...), its own role defaults (ALTER ROLE <self> SET ...) and its own
--   password (ALTER ROLE <self> PASSWORD ...; re-run setup_db.py to restore it). So gh_bi's
--   read-only default and timeout are conveniences, not the defence: the defence is that gh_bi
--   holds no write privilege anywhere. It has no INSERT/UPDATE/DELETE/TRUNCATE on any table,
--   no USAGE on any sequence, no CREATE on any schema (public included: PostgreSQL 15+ no
--   longer grants that to PUBLIC, and this file revokes it for warehouses created before),
--   no TEMPORARY or CREATE on the database (security/database_privileges.sql), no EXECUTE on
--   the warehouse's functions, and cannot create large objects. The warehouse has no SECURITY
--   DEFINER function; views run with their owner's rights but are granted SELECT only.
--   It can still take advisory locks, LISTEN/NOTIFY, and run long queries after lifting its
--   own timeout: limits on load, not on data.
--
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
REVOKE ALL ON ALL SEQUENCES IN SCHEMA bronze, silver, gold FROM gh_ingestion, gh_etl, gh_bi;
REVOKE ALL ON SCHEMA bronze, silver, gold FROM gh_ingestion, gh_etl, gh_bi;
-- Functions are executable by PUBLIC unless revoked; the warehouse's are the ETL's alone.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA bronze, silver, gold FROM PUBLIC, gh_ingestion, gh_etl, gh_bi;
-- Nobody but the owner creates objects in public (PostgreSQL < 15 let PUBLIC; upgraded clusters keep that).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- Large objects live outside every schema and need no grant to create: stop PUBLIC from making them.
-- (Revoking on pg_catalog functions needs a superuser; for another owner this only warns.)
REVOKE EXECUTE ON FUNCTION lo_create(OID), lo_creat(INT), lo_from_bytea(OID, BYTEA),
    lo_import(TEXT), lo_import(TEXT, OID) FROM PUBLIC;

-- --- gh_ingestion -------------------------------------------------------------------------
GRANT USAGE ON SCHEMA bronze TO gh_ingestion;
GRANT INSERT ON bronze.dead_letter_queue TO gh_ingestion;
-- raw_events and poll_log: INSERT on every column except those the database sets (see the column
-- grants below).
-- The loader's RETURNING and the listener's "is bronze empty?" read back ids, never payloads.
-- The listener reads its overlap back from poll_log.event_ids (granted below).
GRANT SELECT (event_id, raw_event_id, source, is_repaired) ON bronze.raw_events TO gh_ingestion;
-- health.py --only listener reads the poll log; backfill.py keeps its per-file outcome.
GRANT SELECT ON bronze.poll_log TO gh_ingestion;
GRANT SELECT, INSERT, UPDATE ON bronze.backfill_files TO gh_ingestion;
-- The triggers that bound error_message on the tables above (bronze/ddl.sql) call these as the
-- inserting role.
GRANT EXECUTE ON FUNCTION bronze.bounded_error_message(TEXT), bronze.error_message_max_chars() TO gh_ingestion;
-- The loaders' event id rule (bronze/ddl.sql): GitHub's id, or a legacy Timeline event's synthetic id.
GRANT EXECUTE ON FUNCTION bronze.event_id_of(JSONB), bronze.legacy_event_id(JSONB), bronze.legacy_id_prefix(),
    bronze.legacy_event_time(JSONB), bronze.legacy_actor_login(JSONB)
    TO gh_ingestion;

-- --- gh_etl -------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA bronze, silver, gold TO gh_etl;
GRANT SELECT ON ALL TABLES IN SCHEMA bronze TO gh_etl;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA silver, gold TO gh_etl;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA silver, gold TO gh_etl;
-- silver.load_batch() tells legacy Timeline events by bronze's synthetic id prefix.
GRANT EXECUTE ON FUNCTION bronze.legacy_id_prefix() TO gh_etl;
-- silver.events is insert-only for the ETL (ON CONFLICT DO NOTHING), on the columns below.
REVOKE INSERT, UPDATE ON silver.events FROM gh_etl;
-- gold.fact_events is immutable: the gold ETL only inserts (ON CONFLICT (event_id) DO NOTHING).
-- Dimensions (Type 1 upserts), aggregates and watermarks keep their UPDATE.
REVOKE UPDATE ON gold.fact_events FROM gh_etl;
-- gh_etl is not granted SET on session_replication_role. The gold run checks fact_events'
-- foreign keys once per run and skips the per-row triggers with it when its role may
-- (master_gold_etl.sql): a superuser may, and an administrator may grant it
-- (GRANT SET ON PARAMETER session_replication_role TO gh_etl; README "Gold"), knowing that gh_etl
-- could then turn off every trigger and foreign-key check of its own sessions, and so re-key a
-- dimension row or insert a fact no dimension holds. Without it gold's constraints check each row.
-- A role may set its own defaults; this one, which would turn them off in every session of
-- gh_etl, is removed on each setup run (for the role, and for it in this database).
DO $$
BEGIN
    ALTER ROLE gh_etl RESET session_replication_role;
    EXECUTE format('ALTER ROLE gh_etl IN DATABASE %I RESET session_replication_role', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'could not reset gh_etl''s own session_replication_role default: % may not', current_user;
END;
$$;

-- --- columns the database sets ----------------------------------------------------------
-- INSERT on every other column, computed from the catalog so that a column added later is
-- covered on the next setup run. Left out, their DEFAULTs (pg_current_xact_id(), now(),
-- the identity) always apply: a role without INSERT on a column cannot name it, not even
-- with OVERRIDING SYSTEM VALUE.
DO $$
DECLARE
    g RECORD;
    cols TEXT;
BEGIN
    FOR g IN SELECT * FROM (VALUES
        ('bronze.raw_events', 'gh_ingestion', ARRAY['raw_event_id', 'ingested_at', 'ingest_xid']),
        ('bronze.poll_log',   'gh_ingestion', ARRAY['poll_id', 'polled_at']),
        ('silver.events',     'gh_etl',       ARRAY['processed_at', 'processed_xid'])
    ) AS t (table_name, role_name, set_by_database)
    LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_attribute AS a
         WHERE a.attrelid = g.table_name::regclass AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attname <> ALL (g.set_by_database);
        EXECUTE format('GRANT INSERT (%s) ON %s TO %I', cols, g.table_name::regclass, g.role_name);
    END LOOP;
END;
$$;

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
