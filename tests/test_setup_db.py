"""setup_db.py builds the whole warehouse, and running it again changes and loses nothing."""

import subprocess
import sys
from dataclasses import replace

import pytest
from conftest import REPO_ROOT, make_event, query, scalar
from helpers import load_and_etl

from ghdw.core import db
from ghdw.core import schema as setup_db

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)


def table_counts(conn):
    return dict(
        query(
            conn,
            """
        SELECT format('%s.%s', schemaname, relname), n_live_tup FROM pg_stat_user_tables
        WHERE schemaname IN ('bronze', 'silver', 'gold') ORDER BY 1""",
        )
    )


def exact_counts(conn):
    tables = [
        r[0]
        for r in query(
            conn,
            """SELECT format('%I.%I', table_schema, table_name)
        FROM information_schema.tables WHERE table_schema IN ('bronze','silver','gold')
        AND table_type = 'BASE TABLE' ORDER BY 1""",
        )
    ]
    return {t: scalar(conn, f"SELECT COUNT(*) FROM {t}") for t in tables}


def test_setup_creates_every_layer_with_seeds(empty_db):
    with db.connection(empty_db) as conn:
        setup_db.apply_schema(conn)
        counts = exact_counts(conn)
        assert counts["gold.dim_date"] == 6940  # 2010-01-01 .. 2028-12-31
        assert (
            scalar(conn, "SELECT MIN(full_date)::TEXT || '..' || MAX(full_date)::TEXT FROM gold.dim_date")
            == "2010-01-01..2028-12-31"
        )
        assert query(conn, "SELECT actor_login FROM gold.dim_actors WHERE actor_id = -1") == [("unknownuser",)]
        assert query(conn, "SELECT repo_name FROM gold.dim_repos WHERE repo_id = -1") == [("unknownrepo",)]
        seeded = {r[0] for r in query(conn, "SELECT event_type FROM gold.dim_event_types WHERE is_curated")}
        for name in (
            "CommitComment",
            "Create",
            "Delete",
            "Discussion",
            "Fork",
            "Gollum",
            "IssueComment",
            "Issues",
            "Member",
            "Public",
            "PullRequest",
            "PullRequestReview",
            "PullRequestReviewComment",
            "Push",
            "Release",
            "Watch",
        ):
            assert f"{name}Event" in seeded
        assert (
            scalar(
                conn, "SELECT COUNT(*) FROM gold.dim_event_types WHERE event_category IS NULL OR is_core_metric IS NULL"
            )
            == 0
        )


def test_setup_runs_twice_without_error_or_loss(empty_db):
    with db.connection(empty_db) as conn:
        setup_db.apply_schema(conn)
        load_and_etl(conn, [make_event("1"), make_event("2", event_type="BrandNewEvent")])
        with conn.cursor() as cur:  # a curator's edit must survive a re-run
            cur.execute(
                "UPDATE gold.dim_event_types SET event_category = 'Curated by hand' WHERE event_type = 'WatchEvent'"
            )
        conn.commit()
        before = exact_counts(conn)
        setup_db.apply_schema(conn)
        assert exact_counts(conn) == before
        assert (
            scalar(conn, "SELECT event_category FROM gold.dim_event_types WHERE event_type = 'WatchEvent'")
            == "Curated by hand"
        )
        assert scalar(conn, "SELECT is_curated FROM gold.dim_event_types WHERE event_type = 'BrandNewEvent'") is False


def test_setup_command_says_what_it_did(empty_db):
    env = {"DATABASE_URL": empty_db.database_url, "LOG_DIR": str(empty_db.log_dir), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "setup_db.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "Applied warehouse/gold/05_fact_events.sql" in result.stderr
        assert "Warehouse ready: 30 tables and 4 views" in result.stderr


@pytest.mark.parametrize("crafted", ['x" WITH (FORCE); DROP DATABASE "{victim}', '{victim}" --'])
def test_recreate_quotes_a_crafted_db_name_and_drops_nothing_else(admin_settings, admin_conn, tmp_path, crafted):
    if not admin_settings.uses_embedded_db:
        pytest.skip("--recreate only works on the embedded server")
    from conftest import RUN_ID, _create_db, _drop_db

    victim = f"v_{RUN_ID}"
    crafted = crafted.format(victim=victim)
    _create_db(admin_conn, victim)
    env = {
        "DB_NAME": crafted,
        "EMBEDDED_PG_DIR": str(admin_settings.embedded_pg_dir),
        "LOG_DIR": str(tmp_path / "logs"),
        "PATH": "/usr/bin:/bin",
    }
    try:
        for run in range(2):  # the first creates the crafted database, the second drops and recreates it
            result = subprocess.run(
                [sys.executable, "setup_db.py", "--recreate"],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, result.stderr
            if run == 0:
                with db.connection(replace(admin_settings, db_name=crafted)) as crafted_conn:
                    with crafted_conn.cursor() as cur:
                        cur.execute("INSERT INTO bronze.poll_log (pages) VALUES (1)")
                    crafted_conn.commit()
        names = {r[0] for r in query(admin_conn, "SELECT datname FROM pg_database")}
        assert victim in names and crafted in names
        with db.connection(replace(admin_settings, db_name=crafted)) as crafted_conn:
            assert scalar(crafted_conn, "SELECT COUNT(*) FROM bronze.poll_log") == 0  # recreated afresh
    finally:
        _drop_db(admin_conn, crafted)
        _drop_db(admin_conn, victim)


def _setup_env(tmp_path, server, password: str) -> dict:
    """setup_db.py's environment as compose gives it: a server by host and port, with a password."""
    import os

    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LOG_DIR": str(tmp_path / "logs"),
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(server.port),
        "DB_NAME": "postgres",
        "DB_USER": "postgres",
        "DB_PASS": password,
        "DB_WAIT_SECONDS": "600",
    }


def test_setup_waits_for_a_server_that_starts_after_it_and_then_builds_the_warehouse(tmp_path):
    from helpers import ThrowawayPostgres

    with ThrowawayPostgres("late-server-pw") as server:
        proc = subprocess.Popen(
            [sys.executable, "setup_db.py"],
            cwd=REPO_ROOT,
            env=_setup_env(tmp_path, server, server.password),
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = []
        try:
            # The server starts only once setup_db.py has said twice that it is waiting for it.
            for line in proc.stderr:
                seen.append(line)
                if f"waiting for the database at 127.0.0.1:{server.port} (attempt 2)..." in line:
                    server.start()
                    break
            seen.extend(proc.stderr)
            returncode = proc.wait(timeout=300)
        finally:
            proc.kill()
    output = "".join(seen)
    assert returncode == 0, output
    assert f"waiting for the database at 127.0.0.1:{server.port} (attempt 1)..." in output
    assert "Warehouse ready" in output
    assert server.password not in output


def test_setup_does_not_retry_a_wrong_password(tmp_path):
    from helpers import ThrowawayPostgres

    with ThrowawayPostgres("right-pw") as server:
        server.start()
        result = subprocess.run(
            [sys.executable, "setup_db.py"],
            cwd=REPO_ROOT,
            env=_setup_env(tmp_path, server, "not-the-password-xyz"),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 3, result.stderr  # lifecycle.EXIT_AUTH
    assert "password authentication failed" in result.stderr
    assert "not retried" in result.stderr
    assert "waiting for the database" not in result.stderr  # one attempt, no backoff
    assert "not-the-password-xyz" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_setup_upgrades_a_warehouse_whose_silver_dropped_rows_silently(empty_db):
    with db.connection(empty_db) as conn:
        setup_db.apply_schema(conn)
        load_and_etl(conn, [make_event("ok")])
        with conn.cursor() as cur:  # back to what the previous version left: no reasons, silent NULL times
            cur.execute("""
                DROP SCHEMA ghdw_meta CASCADE;
                DROP VIEW gold.v_pipeline_health;
                DROP VIEW silver.v_events;
                ALTER TABLE silver.events DROP COLUMN reject_reason, DROP COLUMN sentinel_reason;
                DROP FUNCTION silver.load_batch(INT);
                CREATE FUNCTION silver.load_batch(p_batch_size INT)
                RETURNS TABLE (rows_read BIGINT, rows_inserted BIGINT, caught_up BOOLEAN)
                LANGUAGE sql AS $$ SELECT 0::BIGINT, 0::BIGINT, TRUE $$;
                INSERT INTO bronze.raw_events (event_id, raw_data, source) VALUES
                    ('old-month-13', '{"id": "old-month-13", "created_at": "2015-13-45"}', 'old'),
                    ('old-no-time', '{"id": "old-no-time"}', 'old');
                INSERT INTO silver.events (event_id, created_at_raw, event_time, bronze_ingested_at) VALUES
                    ('old-month-13', '2015-13-45', NULL, now()),
                    ('old-no-time', NULL, NULL, now());""")
        conn.commit()
        setup_db.apply_schema(conn)
        assert query(
            conn, "SELECT event_id, reject_reason FROM silver.events WHERE reject_reason IS NOT NULL ORDER BY 1"
        ) == [("old-month-13", "created_at is not an ISO 8601 date and time"), ("old-no-time", "created_at missing")]
        load_and_etl(conn, [make_event("new")])  # the new load_batch is in place
        assert scalar(conn, "SELECT rejected_events FROM gold.v_pipeline_health") == 2
        assert (
            scalar(conn, "SELECT COUNT(*) FROM silver.events")
            == scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") + 2
        )
        before = exact_counts(conn)
        setup_db.apply_schema(conn)
        assert exact_counts(conn) == before
