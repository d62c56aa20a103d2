"""Create or upgrade the whole warehouse (`python setup_db.py`, `ghdw setup`).

Under an advisory lock (so two setups never interleave), in two steps:
1. the baseline: the layer files under warehouse/ in dependency order (bronze, silver, silver
   view and batch function, gold dimensions, gold fact, security), each in its own transaction.
   Every file is idempotent and is applied on every run, so a changed view or function is
   replaced in place and a second run changes nothing and loses nothing;
2. the migrations: warehouse/migrations/NNNN_name.sql, each applied once, in order, and
   recorded in ghdw_meta.schema_migrations (the few marked `-- phase: before-baseline` run
   before step 1, since the baseline needs what they add to an old table). A warehouse built
   before that table existed is
   detected (it has bronze but no version table), and upgraded in place the same way.
The summary at the end says what is there. Then the least-privilege roles
(warehouse/security/roles.sql) get LOGIN and their password from INGESTION_DB_PASS, ETL_DB_PASS
and BI_DB_PASS, when those are set.
A server that is not accepting connections yet (compose's first boot) is waited for, up to
DB_WAIT_SECONDS, with one "waiting for the database at host:port (attempt n)..." line per try;
an error that waiting cannot cure (a wrong password) ends the run at once, with one line and
the exit code of core/lifecycle.py. A database that does not exist yet is created when the role may
(CREATEDB or superuser); otherwise the line says what an administrator has to run.
"""

from __future__ import annotations

import logging
import re
import time
from contextlib import closing
from dataclasses import dataclass

import psycopg2
import psycopg2.errors
from psycopg2 import sql

from ghdw.config import SERVICE_ROLES
from ghdw.core import db
from ghdw.core.lifecycle import EXIT_AUTH, EXIT_CONFIG
from ghdw.core.locks import SETUP_LOCK_KEY
from ghdw.core.sqlfiles import load_sql, warehouse_dir
from ghdw.logger import start_process

log = logging.getLogger("ghdw.SETUP_DB")

# Version 0001, the baseline: every layer's objects as they are today, in dependency order.
BASELINE_FILES = (
    "bronze/ddl.sql",
    "silver/ddl.sql",
    "silver/payloads.sql",
    "silver/view_silver.sql",
    "silver/etl/load_silver_batch.sql",
    "gold/01_dim_date.sql",
    "gold/02_dim_actors.sql",
    "gold/03_dim_repos.sql",
    "gold/04_dim_event_types.sql",
    "gold/05_fact_events.sql",
    "gold/06_pipeline_health.sql",
    "gold/07_aggregates.sql",
    "gold/08_payload_facts.sql",
    "security/roles.sql",
    "security/database_privileges.sql",
)
# Database ACLs do not travel with CREATE DATABASE ... TEMPLATE: re-applied when logins are enabled.
DATABASE_PRIVILEGES_FILE = "security/database_privileges.sql"
# Where CREATE DATABASE is issued from: every PostgreSQL server has it.
MAINTENANCE_DATABASE = "postgres"
SQL_FILES = BASELINE_FILES  # the name tests and benchmarks use
BASELINE_VERSION = 1
MIGRATIONS_DIR = "migrations"  # under warehouse/
BEFORE_BASELINE_MARK = "-- phase: before-baseline"  # a line of its own in the migration's header
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# The version table lives in its own schema, apart from the layers' data and their grants.
VERSION_TABLE_SQL = """
CREATE SCHEMA IF NOT EXISTS ghdw_meta;
COMMENT ON SCHEMA ghdw_meta IS 'Bookkeeping of the warehouse schema itself (setup_db.py).';
CREATE TABLE IF NOT EXISTS ghdw_meta.schema_migrations (
    version     INTEGER     NOT NULL,
    name        TEXT        NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_schema_migrations PRIMARY KEY (version)
);
"""

SUMMARY_OBJECTS_FILE = "setup/summary_objects.sql"  # under warehouse/
SUMMARY_COUNTS_FILE = "setup/summary_counts.sql"
OTHER_SESSIONS_FILE = "setup/other_sessions.sql"  # under warehouse/


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    relative: str  # under warehouse/
    # Runs before the baseline: the baseline's views/functions/indexes need what it adds to an old table.
    before_baseline: bool = False


def migrations() -> list[Migration]:
    """warehouse/migrations/NNNN_name.sql, in version order (0002 and up; 0001 is the baseline)."""
    found = []
    for path in sorted((warehouse_dir() / MIGRATIONS_DIR).glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: a migration is named NNNN_name.sql")
        before = BEFORE_BASELINE_MARK in path.read_text(encoding="utf-8").splitlines()
        found.append(Migration(int(match[1]), match[2], f"{MIGRATIONS_DIR}/{path.name}", before))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or any(v <= BASELINE_VERSION for v in versions):
        raise ValueError(f"migration versions must be unique and above {BASELINE_VERSION:04d}: {versions}")
    return found


def applied_versions(conn) -> set[int]:
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM ghdw_meta.schema_migrations")
        return {version for (version,) in cur.fetchall()}


def warn_renamed_migrations(conn) -> None:
    """One line per recorded migration whose name differs from this release's file of that number:
    the warehouse was set up by a build that numbered its migrations differently, so the change
    that number holds here may never have been applied (setup does not apply a version twice)."""
    recorded_names = {}
    with conn.cursor() as cur:
        cur.execute("SELECT version, name FROM ghdw_meta.schema_migrations")
        recorded_names = dict(cur.fetchall())
    for migration in migrations():
        recorded = recorded_names.get(migration.version)
        if recorded is not None and recorded != migration.name:
            log.warning(
                "Migration %04d is recorded as %r but this release's %04d is %r: this warehouse was set up "
                "by a build numbered differently, and %r may not have been applied: apply %s by hand (psql -f) "
                "if it is needed.",
                migration.version,
                recorded,
                migration.version,
                migration.name,
                migration.name,
                migration.relative,
            )


def warn_other_sessions(conn) -> None:
    """After an upgrade: name the programs still connected, which run the code they started with."""
    with conn.cursor() as cur:
        cur.execute(load_sql(OTHER_SESSIONS_FILE), {"app": db.APPLICATION_NAME})
        sessions = cur.fetchall()
    conn.commit()
    if sessions:
        pids = ", ".join(str(pid) for pid, _, _ in sessions)
        log.warning(
            "The warehouse was upgraded while %d other session(s) of this program were connected "
            "(pids %s: a listener, a scheduler or a backfill): restart them so they run this release.",
            len(sessions),
            pids,
        )


def schema_version(conn) -> int | None:
    """The highest applied version, or None for a warehouse without the version table."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('ghdw_meta.schema_migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            return None
        cur.execute("SELECT max(version) FROM ghdw_meta.schema_migrations")
        return cur.fetchone()[0]


def apply_schema(conn) -> list[tuple[str, float]]:
    """Apply the baseline files, then every pending migration, in order; returns (file, seconds)
    for each file applied."""
    applied = []
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
        conn.commit()
        try:
            cur.execute(
                "SELECT to_regclass('bronze.raw_events') IS NOT NULL, "
                "to_regclass('ghdw_meta.schema_migrations') IS NOT NULL"
            )
            has_bronze, has_versions = cur.fetchone()
            if has_bronze and not has_versions:
                log.info(
                    "This warehouse predates the schema version table: upgrading it in place "
                    "(baseline, then every migration)."
                )
            cur.execute(VERSION_TABLE_SQL)
            conn.commit()
            done = applied_versions(conn)
            warn_renamed_migrations(conn)
            pending = [m for m in migrations() if m.version not in done]

            def apply(migration: Migration) -> None:
                started = time.perf_counter()
                cur.execute(load_sql(migration.relative))
                cur.execute(
                    "INSERT INTO ghdw_meta.schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                conn.commit()  # the migration and its record, together
                applied.append((migration.relative, time.perf_counter() - started))

            for migration in pending:
                if migration.before_baseline:
                    apply(migration)
            for relative in BASELINE_FILES:
                started = time.perf_counter()
                cur.execute(load_sql(relative))
                conn.commit()
                applied.append((relative, time.perf_counter() - started))
            cur.execute(
                "INSERT INTO ghdw_meta.schema_migrations (version, name) VALUES (%s, 'baseline') "
                "ON CONFLICT (version) DO NOTHING",
                (BASELINE_VERSION,),
            )
            conn.commit()
            for migration in pending:
                if not migration.before_baseline:
                    apply(migration)
            if pending:
                warn_other_sessions(conn)
        except Exception:
            conn.rollback()
            raise
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
            conn.commit()
    return applied


def apply_role_passwords(conn, settings) -> list[str]:
    """LOGIN + password for each service role whose password variable is set; returns those roles.
    The database-level rights (security/database_privileges.sql) are asserted first, since a
    database copied from a template lacks them. The password travels only as a query
    parameter and is never logged."""
    enabled = []
    with conn.cursor() as cur:
        cur.execute(load_sql(DATABASE_PRIVILEGES_FILE))
        for role, password in sorted(settings.role_passwords.items()):
            cur.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,))
            enabled.append(role)
    conn.commit()
    return enabled


# The server's own databases: the maintenance database --recreate connects to, and the templates
# every CREATE DATABASE copies. Never dropped by --recreate.
SYSTEM_DATABASES = (MAINTENANCE_DATABASE, "template0", "template1")


def recreate_embedded_database(settings) -> int:
    """Drop and recreate the configured database: only on the embedded server (demos), never one
    of its system databases. Returns 0, or EXIT_CONFIG after one line saying why not."""
    if not settings.uses_embedded_db:
        log.error(
            "--recreate only works on the embedded server; refusing to drop a configured database "
            "(drop it yourself if you mean it, then run setup_db.py)."
        )
        return EXIT_CONFIG
    if settings.db_name in SYSTEM_DATABASES:
        log.error(
            "--recreate refuses to drop %s: it is one of the server's own databases (%s); "
            "set DB_NAME to the warehouse's database.",
            settings.db_name,
            ", ".join(SYSTEM_DATABASES),
        )
        return EXIT_CONFIG

    log.warning(
        "--recreate: dropping database %s of the embedded server and everything in it; creating it afresh.",
        settings.db_name,
    )
    with db.connection(settings, dbname=MAINTENANCE_DATABASE) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (settings.db_name,))
            existed = cur.fetchone() is not None
            # DB_NAME is a setting: quoted as an identifier, never spliced into the statement.
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(settings.db_name)))
    if existed:
        log.info("Dropped database %s of the embedded server.", settings.db_name)
    else:
        log.info("Database %s did not exist on the embedded server: nothing to drop.", settings.db_name)
    return 0


def create_database(settings) -> bool:
    """CREATE DATABASE for a configured server whose database does not exist yet, when the role
    may (CREATEDB or superuser), from the `postgres` maintenance database. Otherwise one line
    says what an administrator has to run; returns whether the database now exists."""
    target = db.connection_target(settings)
    name, user = target["dbname"], target["user"]
    admin_command = sql.SQL("CREATE DATABASE {} OWNER {};").format(sql.Identifier(name), sql.Identifier(user))
    with db.connection(settings, dbname=MAINTENANCE_DATABASE) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            may_create = cur.fetchone()[0]
            if not may_create:
                log.error(
                    "Database %s does not exist at %s and role %s may not create it (no CREATEDB): "
                    "ask an administrator to run  %s  then run setup_db.py again.",
                    name,
                    db.server_address(settings),
                    user,
                    admin_command.as_string(admin),
                )
                return False
            try:
                # DB_NAME is a setting: quoted as an identifier, never spliced into the statement.
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log.info("Created database %s at %s.", name, db.server_address(settings))
            except psycopg2.errors.DuplicateDatabase:
                pass  # another setup created it between our connection attempt and now
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--recreate",
        action="store_true",
        help="drop the database first (embedded server only; `make demo` uses it for its own database)",
    )
    args = parser.parse_args(argv)
    settings = start_process()
    if args.recreate:
        refused = recreate_embedded_database(settings)
        if refused:
            return refused
    log.info("Setting up the warehouse in %s", db.describe(settings))
    try:
        conn = db.connect_when_ready(settings)
    except psycopg2.OperationalError as exc:
        if not db.is_missing_database(exc):
            raise  # lifecycle.run_main: one line and the exit code of the cause
        if not create_database(settings):
            return EXIT_AUTH
        conn = db.connect_when_ready(settings)
    with closing(conn):
        for relative, seconds in apply_schema(conn):
            log.info("Applied warehouse/%s (%.0f ms)", relative, seconds * 1000)
        enabled = apply_role_passwords(conn, settings)
        missing = sorted(set(SERVICE_ROLES) - set(enabled))
        if enabled:
            log.info("Service roles %s can log in.", ", ".join(enabled))
        if missing:
            log.info(
                "Service roles %s have no password and cannot log in (set %s for docker compose).",
                ", ".join(missing),
                ", ".join(SERVICE_ROLES[r] for r in missing),
            )
        with conn.cursor() as cur:
            cur.execute(load_sql(SUMMARY_OBJECTS_FILE))
            objects = cur.fetchall()
            cur.execute(load_sql(SUMMARY_COUNTS_FILE))
            days, first_day, last_day, types, bronze_rows = cur.fetchone()
        version = schema_version(conn)
        conn.rollback()
    tables = sum(1 for _, kind, _ in objects if kind == "table")
    views = sum(1 for _, kind, _ in objects if kind == "view")
    log.info("Schema version %04d (ghdw_meta.schema_migrations).", version)
    log.info(
        "Warehouse ready: %d tables and %d views in bronze/silver/gold; dim_date %s..%s (%d days); "
        "%d event types; %d events in bronze.",
        tables,
        views,
        first_day,
        last_day,
        days,
        types,
        bronze_rows,
    )
    return 0
