"""Least privilege: each service role can do its job and is refused outside it."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from conftest import make_event, scalar

from ghdw.bronze_loader import load_events
from ghdw.core import schema as setup_db
from ghdw.process_gold import run_gold
from ghdw.process_silver import run_silver

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

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
    from ghdw.core import db

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
        # Two sessions of the role, a range of 2 events each (parallel silver's functions granted too).
        assert run_silver(etl, 2, workers=2, connect=lambda: _connect(roles["gh_etl"])).rows_inserted == 5
        run_gold(etl)
        assert scalar(etl, "SELECT COUNT(*) FROM gold.fact_events") == 5
        assert scalar(etl, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0  # may read bronze
        assert _refused(etl, "INSERT INTO bronze.raw_events (event_id, raw_data, source) VALUES ('x', '{}', 'x')")
        assert _refused(etl, "DELETE FROM gold.fact_events")
        assert _refused(etl, "DROP TABLE gold.fact_events")
    finally:
        etl.close()


def test_etl_role_may_not_turn_off_checks_unless_granted_and_setup_removes_its_own_default(roles, conn):
    """gh_etl gets no SET on session_replication_role (it would turn off every foreign-key check of
    its sessions): gold then checks fact_events' keys row by row. An administrator may grant it; a
    default of it set for the role is removed by every setup run."""
    with conn.cursor() as cur:  # a grant is the cluster's: one left by another warehouse's administrator
        cur.execute("REVOKE SET ON PARAMETER session_replication_role FROM gh_etl")
    conn.commit()
    for role in ("gh_etl", "gh_bi", "gh_ingestion"):
        assert scalar(conn, f"SELECT has_parameter_privilege('{role}', 'session_replication_role', 'SET')") is False
    etl = _connect(roles["gh_etl"])
    try:
        assert _refused(etl, "SET session_replication_role = replica")
        load_events(conn, [make_event("1", actor_id=1)])
        run_silver(etl, 100)
        run_gold(etl)  # row by row
        assert scalar(etl, "SELECT COUNT(*) FROM gold.fact_events") == 1
    finally:
        etl.close()
    with conn.cursor() as cur:  # the administrator's choice: the faster gold run for gh_etl
        cur.execute("GRANT SET ON PARAMETER session_replication_role TO gh_etl")
        cur.execute("ALTER ROLE gh_etl SET session_replication_role = replica")  # as gh_etl itself could
        cur.execute("SELECT current_database()")
        cur.execute(f'ALTER ROLE gh_etl IN DATABASE "{cur.fetchone()[0]}" SET session_replication_role = replica')
    conn.commit()
    try:
        setup_db.apply_schema(conn)
        assert (
            scalar(
                conn,
                """SELECT COUNT(*) FROM pg_db_role_setting AS s JOIN pg_roles AS r ON r.oid = s.setrole
                    WHERE r.rolname = 'gh_etl'
                      AND array_to_string(s.setconfig, ',') LIKE '%session_replication_role%'""",
            )
            == 0
        )
        etl = _connect(roles["gh_etl"])
        try:
            assert scalar(etl, "SHOW session_replication_role") == "origin"
            load_events(conn, [make_event("2", actor_id=2)])
            run_silver(etl, 100)
            run_gold(etl)  # once per run, as the role may now set it
            assert scalar(etl, "SELECT COUNT(*) FROM gold.fact_events") == 2
            assert scalar(etl, "SHOW session_replication_role") == "origin"
        finally:
            etl.close()
    finally:
        with conn.cursor() as cur:  # the parameter grant is the cluster's
            cur.execute("REVOKE SET ON PARAMETER session_replication_role FROM gh_etl")
        conn.commit()


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
        cur.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname LIKE 'gh\\_%' ORDER BY 1"
        )
        assert cur.fetchall() == [
            ("gh_bi", False, False, False),
            ("gh_etl", False, False, False),
            ("gh_ingestion", False, False, False),
        ]
    conn.rollback()
    assert setup_db.apply_role_passwords(conn, replace(settings, role_passwords={})) == []


@pytest.mark.parametrize(
    "column, value", [("ingest_xid", "'1'::xid8"), ("ingested_at", "now() - INTERVAL '1 day'"), ("raw_event_id", "1")]
)
def test_ingestion_role_cannot_set_the_columns_the_database_fills_in(roles, conn, column, value):
    ingestion = _connect(roles["gh_ingestion"])
    try:
        overriding = "OVERRIDING SYSTEM VALUE" if column == "raw_event_id" else ""
        assert _refused(
            ingestion,
            f"INSERT INTO bronze.raw_events (event_id, raw_data, source, {column}) "
            f"{overriding} VALUES ('forged', '{{}}', 'test', {value})",
        )
        assert _refused(
            ingestion, "INSERT INTO bronze.poll_log (pages, polled_at) VALUES (1, now() + INTERVAL '1 day')"
        )
        # What it may write, it writes; the database stamps the transaction, so silver sees the row.
        assert load_events(ingestion, [make_event("honest")]).inserted == 1
    finally:
        ingestion.close()
    assert scalar(
        conn,
        "SELECT ingest_xid <> '1'::xid8 AND ingested_at > now() - INTERVAL '1 hour' "
        "FROM bronze.raw_events WHERE event_id = 'honest'",
    )
    assert run_silver(conn, 1000).rows_inserted == 1


@pytest.mark.parametrize("column, value", [("processed_xid", "'1'::xid8"), ("processed_at", "now()")])
def test_etl_role_cannot_set_silver_processed_xid_or_processed_at(roles, column, value):
    etl = _connect(roles["gh_etl"])
    try:
        assert _refused(
            etl, f"INSERT INTO silver.events (event_id, bronze_ingested_at, {column}) VALUES ('forged', now(), {value})"
        )
        assert _refused(etl, f"UPDATE silver.events SET {column} = {value}")
    finally:
        etl.close()


BI_WRITES = [
    "CREATE TEMP TABLE scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
    "CREATE SCHEMA scratch",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT * FROM gold.dim_event_types FOR UPDATE",
    "LOCK TABLE gold.fact_events IN EXCLUSIVE MODE",
    "COMMENT ON TABLE gold.fact_events IS 'x'",
    "SELECT gold.ensure_dates('2030-01-01', '2030-01-02')",
    "SELECT gold.fold_new_facts()",
    "SELECT gold.fold_facts('gold.fact_events')",
    "SELECT gold.rebuild_aggregates()",
    "SELECT silver.load_batch(10)",
]


def _attempt(conn, statement: str) -> str | None:
    """Run one statement in its own transaction; the error class name, or None if it succeeded."""
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
        return None
    except psycopg2.Error as exc:
        return type(exc).__name__
    finally:
        conn.rollback()


def test_bi_role_with_read_only_and_timeout_switched_off_can_write_nowhere(roles, conn):
    bi = _connect(roles["gh_bi"])
    try:
        # Any role may change its own session settings: the grants must hold without them.
        bi.autocommit = True
        with bi.cursor() as cur:
            for setting in ("default_transaction_read_only = off", "statement_timeout = 0", "work_mem = '256MB'"):
                cur.execute(f"SET {setting}")
        bi.autocommit = False
        assert scalar(bi, "SHOW transaction_read_only") == "off"
        with bi.cursor() as cur:
            cur.execute("""SELECT c.oid::regclass::TEXT, c.relkind, n.nspname, (
                                SELECT quote_ident(a.attname) FROM pg_attribute AS a
                                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                 ORDER BY a.attnum LIMIT 1)
                             FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')""")
            relations = cur.fetchall()
            cur.execute("SELECT c.oid::regclass::TEXT FROM pg_class AS c WHERE c.relkind = 'S'")
            sequences = [r[0] for r in cur.fetchall()]
        bi.rollback()
        succeeded = []
        for name, kind, schema, column in relations:
            statements = [f"INSERT INTO {name} DEFAULT VALUES", f"DELETE FROM {name}", f"TRUNCATE {name}"]
            if column:
                statements.append(f"UPDATE {name} SET {column} = {column}")
            for statement in statements:
                error = _attempt(bi, statement)
                # On the warehouse's own schemas the refusal must come from the grants.
                if error is None or (
                    schema in ("bronze", "silver", "gold", "public")
                    and kind in "rp"
                    and error != "InsufficientPrivilege"
                ):
                    succeeded.append((statement, error))
        for sequence in sequences:
            for statement in (f"SELECT nextval('{sequence}')", f"SELECT setval('{sequence}', 42)"):
                if _attempt(bi, statement) != "InsufficientPrivilege":
                    succeeded.append((statement, "not refused by the grants"))
        assert succeeded == []
        assert [(s, _attempt(bi, s)) for s in BI_WRITES if _attempt(bi, s) != "InsufficientPrivilege"] == []
    finally:
        bi.close()
    # The catalog agrees: no write privilege of any kind, anywhere in this database (PUBLIC's UPDATE
    # on the pg_settings view is SET by another name: session settings, not data).
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM pg_class AS c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.oid <> 'pg_catalog.pg_settings'::regclass
        AND (has_table_privilege('gh_bi', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
             OR has_any_column_privilege('gh_bi', c.oid, 'INSERT, UPDATE, REFERENCES'))""",
        )
        == 0
    )
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM pg_class AS c
        WHERE CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('gh_bi', c.oid, 'USAGE, UPDATE') END""",
        )
        == 0
    )
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM pg_namespace AS n
        WHERE has_schema_privilege('gh_bi', n.oid, 'CREATE')""",
        )
        == 0
    )
    assert scalar(conn, "SELECT has_database_privilege('gh_bi', current_database(), 'CREATE, TEMPORARY')") is False
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE has_function_privilege('gh_bi', p.oid, 'EXECUTE')
          AND (p.prosecdef OR n.nspname IN ('bronze', 'silver', 'gold', 'public'))""",
        )
        == 0
    )


def test_service_roles_keep_their_temp_tables(roles, conn):
    load_events(conn, [make_event("1")])
    for role in ("gh_ingestion", "gh_etl"):
        service = _connect(roles[role])
        try:
            assert _attempt(service, "CREATE TEMP TABLE scratch (x int)") is None
        finally:
            service.close()


def test_legacy_timeline_events_load_as_the_ingestion_role_and_reach_gold_as_the_etl_role(roles, conn):
    legacy = {
        "type": "WatchEvent",
        "actor": "octocat",
        "created_at": "2012-03-04T05:06:07-08:00",
        "repository": {"id": 7, "name": "hello", "owner": "octocat"},
        "payload": {"action": "started"},
    }
    ingestion = _connect(roles["gh_ingestion"])
    try:
        assert load_events(ingestion, [legacy], "test").inserted == 1
    finally:
        ingestion.close()
    etl = _connect(roles["gh_etl"])
    try:
        run_silver(etl, 100)
        run_gold(etl)
    finally:
        etl.close()
    assert scalar(conn, "SELECT event_format FROM gold.fact_events") == "legacy_timeline"
