"""Create or update the whole warehouse: `python setup_db.py`.

Applies the SQL files under warehouse/ in dependency order (bronze, silver, silver view
and batch function, gold dimensions, gold fact), each file in its own transaction, under
an advisory lock so two setups never interleave. Every file is idempotent, so a second
run changes nothing and loses nothing; the summary at the end says what is there.
Then the least-privilege roles (warehouse/security/roles.sql) get LOGIN and their password
from INGESTION_DB_PASS, ETL_DB_PASS and BI_DB_PASS, when those are set.
A server that is not accepting connections yet (compose's first boot) is waited for, up to
DB_WAIT_SECONDS, with one "waiting for the database at host:port (attempt n)..." line per try;
an error that waiting cannot cure (a wrong password) ends the run at once, with one line and
the exit code of lifecycle.py. A database that does not exist yet is created when the role may
(CREATEDB or superuser); otherwise the line says what an administrator has to run.
"""
from __future__ import annotations

import sys
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "ingestion" / "src"))

import logging  # noqa: E402

import psycopg2  # noqa: E402
import psycopg2.errors  # noqa: E402

import db  # noqa: E402
from config import SERVICE_ROLES  # noqa: E402
from lifecycle import EXIT_AUTH, exit_with  # noqa: E402
from logger import start_process  # noqa: E402

log = logging.getLogger("SETUP_DB")

WAREHOUSE_DIR = Path(__file__).resolve().parent / "warehouse"
SQL_FILES = (
    "bronze/ddl.sql",
    "silver/ddl.sql",
    "silver/view_silver.sql",
    "silver/etl/load_silver_batch.sql",
    "gold/01_dim_date.sql",
    "gold/02_dim_actors.sql",
    "gold/03_dim_repos.sql",
    "gold/04_dim_event_types.sql",
    "gold/05_fact_events.sql",
    "gold/06_pipeline_health.sql",
    "gold/07_aggregates.sql",
    "security/roles.sql",
    "security/database_privileges.sql",
)
# Database ACLs do not travel with CREATE DATABASE ... TEMPLATE: re-applied when logins are enabled.
DATABASE_PRIVILEGES_FILE = "security/database_privileges.sql"
# Where CREATE DATABASE is issued from: every PostgreSQL server has it.
MAINTENANCE_DATABASE = "postgres"
SETUP_LOCK_KEY = 4_242_001  # pg_advisory_lock key reserved for schema setup

SUMMARY_SQL = """
SELECT n.nspname || '.' || c.relname,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' END,
       c.reltuples
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('bronze', 'silver', 'gold') AND c.relkind IN ('r', 'v')
ORDER BY n.nspname, c.relname
"""


def apply_schema(conn) -> list[tuple[str, float]]:
    """Apply every warehouse SQL file in order; returns (file, seconds) for each."""
    applied = []
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
        conn.commit()
        try:
            for relative in SQL_FILES:
                started = time.perf_counter()
                cur.execute((WAREHOUSE_DIR / relative).read_text(encoding="utf-8"))
                conn.commit()
                applied.append((relative, time.perf_counter() - started))
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
    from psycopg2 import sql

    enabled = []
    with conn.cursor() as cur:
        cur.execute((WAREHOUSE_DIR / DATABASE_PRIVILEGES_FILE).read_text(encoding="utf-8"))
        for role, password in sorted(settings.role_passwords.items()):
            cur.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,))
            enabled.append(role)
    conn.commit()
    return enabled


def recreate_embedded_database(settings) -> None:
    """Drop and recreate the configured database: only on the embedded server (demos)."""
    if not settings.uses_embedded_db:
        raise SystemExit("--recreate only works on the embedded server; refusing to drop a configured database")
    from psycopg2 import sql

    log.warning("--recreate: dropping database %s of the embedded server and everything in it; "
                "creating it afresh.", settings.db_name)
    with db.connection(settings, dbname="postgres") as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            # DB_NAME is a setting: quoted as an identifier, never spliced into the statement.
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(settings.db_name)))
    log.info("Dropped database %s of the embedded server.", settings.db_name)


def create_database(settings) -> bool:
    """CREATE DATABASE for a configured server whose database does not exist yet, when the role
    may (CREATEDB or superuser), from the `postgres` maintenance database. Otherwise one line
    says what an administrator has to run; returns whether the database now exists."""
    from psycopg2 import sql

    target = db.connection_target(settings)
    name, user = target["dbname"], target["user"]
    admin_command = sql.SQL("CREATE DATABASE {} OWNER {};").format(sql.Identifier(name), sql.Identifier(user))
    with db.connection(settings, dbname=MAINTENANCE_DATABASE) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            may_create = cur.fetchone()[0]
            if not may_create:
                log.error("Database %s does not exist at %s and role %s may not create it (no CREATEDB): "
                          "ask an administrator to run  %s  then run setup_db.py again.", name,
                          db.server_address(settings), user, admin_command.as_string(admin))
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
    parser.add_argument("--recreate", action="store_true",
                        help="drop the database first (embedded server only; `make demo` uses it for its own database)")
    args = parser.parse_args(argv)
    settings = start_process()
    if args.recreate:
        recreate_embedded_database(settings)
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
            log.info("Service roles %s have no password and cannot log in (set %s for docker compose).",
                     ", ".join(missing), ", ".join(SERVICE_ROLES[r] for r in missing))
        with conn.cursor() as cur:
            cur.execute(SUMMARY_SQL)
            objects = cur.fetchall()
            cur.execute("SELECT (SELECT COUNT(*) FROM gold.dim_date), "
                        "(SELECT MIN(full_date) FROM gold.dim_date), (SELECT MAX(full_date) FROM gold.dim_date), "
                        "(SELECT COUNT(*) FROM gold.dim_event_types), (SELECT COUNT(*) FROM bronze.raw_events)")
            days, first_day, last_day, types, bronze_rows = cur.fetchone()
        conn.rollback()
    tables = sum(1 for _, kind, _ in objects if kind == "table")
    views = sum(1 for _, kind, _ in objects if kind == "view")
    log.info("Warehouse ready: %d tables and %d views in bronze/silver/gold; dim_date %s..%s (%d days); "
             "%d event types; %d events in bronze.", tables, views, first_day, last_day, days, types, bronze_rows)
    return 0


if __name__ == "__main__":
    exit_with(main)
