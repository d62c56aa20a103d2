-- =============================================================================
-- security/database_privileges.sql — what the service roles may do to the database itself.
--
--   PUBLIC gets CONNECT and TEMPORARY on every new database. TEMPORARY lets any role create
--   tables (in pg_temp): a write that read-only defaults do not stop once a role switches them
--   off. Only the loaders need temp tables (bronze staging, silver and gold batches); gh_bi
--   does not. CREATE (new schemas) goes to nobody.
--   grain:   the ACL of the current database (pg_database.datacl).
--   written: setup_db.py, after roles.sql, and again whenever it enables the roles' logins:
--            database ACLs are not copied by CREATE DATABASE ... TEMPLATE or a plain pg_dump,
--            so a copied warehouse must get them again.
--   read:    PostgreSQL's privilege checks; tests/test_roles.py.
-- Idempotent: GRANT/REVOKE repeat harmlessly.
-- =============================================================================

DO $$
BEGIN
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC, gh_bi', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO gh_ingestion, gh_etl', current_database());
END;
$$;
