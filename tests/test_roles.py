"""Least privilege: each service role can do its job and is refused outside it."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

import setup_db
from bronze_loader import load_events
from conftest import make_event, scalar
from process_gold import run_gold
from process_silver import run_silver

PASSWORDS = {"gh_ingestion": "ingest-secret-1", "gh_etl": "etl-secret-2", "gh_bi": "bi-secret-3"}


@pytest.fixture
def roles(settings, conn):
    """Role passwords applied the way setup_db does it; returns role -> Settings connecting as it."""
    assert setup_db.apply_role_passwords(conn, replace(settings, role_passwords=PASSWORDS)) == sorted(PASSWORDS)
    parts = urlsplit(settings.database_url)
    host = parts.netloc.rpartition("@")[2]
    as_role = {}
    for role, password in PASSWORDS.items():
        url = urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))
        as_role[role] = replace(settings, database_url=url, db_user=role)
    return as_role


def _connect(settings):
    import db
    return db.connect(settings)


def _refused(conn, sql: str) -> bool:
    with conn.cursor() as cur:
        try:
            cur.execute(sql)
        except psycopg2.errors.InsufficientPrivilege:
            conn.rollback()
            return True
        except psycopg2.errors.ReadOnlySqlTransaction:
            conn.rollback()
            return True
    conn.rollback()
    return False


def test_ingestion_role_loads_bronze_and_is_refused_elsewhere(roles):
    conn = _connect(roles["gh_ingestion"])
    try:
        assert scalar(conn, "SELECT current_user") == "gh_ingestion"
        report = load_events(conn, [make_event("1"), make_event("2"), make_event("1")])
        assert (report.inserted, report.duplicates) == (2, 1)
        bad = make_event("3", login="broken\ud800")
        assert load_events(conn, [bad]).errors == 1  # the DLQ is writable too
        with conn.cursor() as cur:
            cur.execute("INSERT INTO bronze.poll_log (pages) VALUES (1)")
        conn.commit()
        assert _refused(conn, "SELECT raw_data FROM bronze.raw_events")
        assert _refused(conn, "SELECT * FROM bronze.dead_letter_queue")
        assert _refused(conn, "SELECT * FROM silver.events")
        assert _refused(conn, "SELECT * FROM gold.fact_events")
        assert _refused(conn, "INSERT INTO silver.etl_watermark (pipeline) VALUES ('x')")
        assert _refused(conn, "TRUNCATE bronze.raw_events")
        assert _refused(conn, "CREATE TABLE bronze.intruder (x int)")
    finally:
        conn.close()


def test_etl_role_runs_silver_and_gold_and_cannot_touch_bronze(roles, conn):
    load_events(conn, [make_event(str(i)) for i in range(1, 6)])
    etl = _connect(roles["gh_etl"])
    try:
        assert run_silver(etl, 1000).rows_inserted == 5
        run_gold(etl)
        assert scalar(etl, "SELECT COUNT(*) FROM gold.fact_events") == 5
        assert scalar(etl, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0  # may read bronze
        assert _refused(etl, "INSERT INTO bronze.raw_events (event_id, raw_data, source) VALUES ('x', '{}', 'x')")
        assert _refused(etl, "DELETE FROM gold.fact_events")
        assert _refused(etl, "DROP TABLE gold.fact_events")
    finally:
        etl.close()


def test_bi_role_reads_gold_only_in_read_only_transactions(roles, conn):
    load_events(conn, [make_event("1")])
    run_silver(conn, 1000)
    run_gold(conn)
    bi = _connect(roles["gh_bi"])
    try:
        assert scalar(bi, "SELECT COUNT(*) FROM gold.fact_events") == 1
        assert scalar(bi, "SELECT bronze_backlog FROM gold.v_pipeline_health") == 0
        assert scalar(bi, "SHOW default_transaction_read_only") == "on"
        assert _refused(bi, "SELECT * FROM bronze.raw_events")
        assert _refused(bi, "SELECT * FROM silver.events")
        assert _refused(bi, "SELECT * FROM bronze.dead_letter_queue")
        assert _refused(bi, "UPDATE gold.dim_event_types SET is_curated = TRUE")
        assert _refused(bi, "CREATE TABLE gold.scratch (x int)")
        # Even a transaction that asks to write is refused by the grants, not only the default.
        with bi.cursor() as cur:
            cur.execute("SET TRANSACTION READ WRITE")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("INSERT INTO gold.dim_event_types (event_type, event_category) VALUES ('X', 'X')")
        bi.rollback()
    finally:
        bi.close()


def test_role_setup_is_idempotent_and_roles_without_password_cannot_log_in(settings, conn):
    setup_db.apply_schema(conn)
    setup_db.apply_schema(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                    "WHERE rolname LIKE 'gh\\_%' ORDER BY 1")
        assert cur.fetchall() == [("gh_bi", False, False, False), ("gh_etl", False, False, False),
                                  ("gh_ingestion", False, False, False)]
    conn.rollback()
    assert setup_db.apply_role_passwords(conn, replace(settings, role_passwords={})) == []
