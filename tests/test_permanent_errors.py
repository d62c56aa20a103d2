"""Errors no retry can cure end every command, the scheduler included, with one line and the
documented exit code (2 configuration / not set up, 3 authentication / permission); transient ones
keep the scheduler going with one line per failed cycle. A file load or a backfill stopped by a
signal finishes the chunk(s) in flight, says how far it got and exits 1. Real PostgreSQL 16."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace

import psycopg2
import pytest
from conftest import REPO_ROOT, make_event, query, scalar
from helpers import ThrowawayPostgres, free_port, run_cli
from test_roles import roles  # noqa: F401 - the fixture, used by name

from ghdw.bronze import file_loads
from ghdw.bronze.backfill import run_backfill
from ghdw.bronze.file_loads import SerialLoader, file_load_targets, load_target
from ghdw.bronze_loader import load_events
from ghdw.config import ConfigError, load_settings
from ghdw.core import db, lifecycle
from ghdw.dev.local_github import LocalGitHub
from ghdw.process_etl import EtlScheduler
from ghdw.sources.event_files import iter_json_lines
from ghdw.sources.gharchive import file_targets
from ghdw.sources.json_split import RawEvent

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)


WRONG_PASSWORD = "wrong-pw-Kx73"


@pytest.fixture(scope="module")
def password_server():
    """A server that checks passwords (the embedded one of the tests trusts its socket)."""
    with ThrowawayPostgres("right-pw-Zq81") as server:
        server.start()
        yield server


@pytest.fixture
def wrong_password(settings, password_server):
    """This test's settings, pointed at password_server with a wrong password."""
    url = f"postgresql://postgres:{WRONG_PASSWORD}@127.0.0.1:{password_server.port}/postgres"
    return replace(settings, database_url=url)


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if " - ERROR - " in line]


def _one_line(result, code: int, words: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    errors = _errors(output)
    assert len(errors) == 1 and words in errors[0], output


# -- classification ----------------------------------------------------------------------------
def _error_of(conn, statement: str) -> psycopg2.Error:
    with conn.cursor() as cur:
        try:
            cur.execute(statement)
        except psycopg2.Error as exc:
            conn.rollback()
            return exc
    raise AssertionError(f"{statement} did not fail")


def test_read_only_transactions_and_a_partial_setup_are_classified(settings, conn):
    read_only = _error_of(conn, "SET TRANSACTION READ ONLY; CREATE TABLE bronze.x (i INT)")
    assert isinstance(read_only, psycopg2.errors.ReadOnlySqlTransaction)
    code, text = db.classify_failure(read_only, settings)
    assert code == lifecycle.EXIT_AUTH and text.startswith("Permission denied in database")
    for statement in ("SELECT silver.no_such_function(1)", "SELECT no_such_column FROM bronze.raw_events"):
        code, text = db.classify_failure(_error_of(conn, statement), settings)
        assert code == lifecycle.EXIT_CONFIG and "is not set up" in text and "setup_db.py" in text


# -- the scheduler -------------------------------------------------------------------------------
@pytest.mark.parametrize("situation", ["wrong_password", "schema_missing"])
def test_the_scheduler_ends_on_a_permanent_error_with_one_line_and_its_code(request, empty_db, situation):
    target = request.getfixturevalue("wrong_password") if situation == "wrong_password" else empty_db
    result = run_cli(
        target,
        "ingestion/src/process_etl.py",
        timeout=120,
        env_extra={"DEMO_INTERVAL_SECONDS": "1", "DB_WAIT_SECONDS": "2"},
    )
    if situation == "wrong_password":
        _one_line(result, 3, "password authentication failed")
        assert WRONG_PASSWORD not in result.stderr
    else:
        _one_line(result, 2, "is not set up")
        assert "run python setup_db.py" in result.stderr
    assert "the next scheduled run will retry" not in result.stderr


def test_a_transient_failure_keeps_the_scheduler_going_with_one_line(settings, caplog):
    unreachable = replace(settings, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x", db_wait_seconds=1)
    scheduler = EtlScheduler(unreachable, stop=threading.Event())
    with caplog.at_level(logging.INFO, logger="ghdw"):
        scheduler._scheduled_job()
        scheduler._scheduled_job()
    failures = [r for r in caplog.records if "the next scheduled run will retry" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info is None for r in failures)
    assert "Connection refused" in failures[0].getMessage()
    assert not scheduler.stop_requested.is_set() and scheduler.exit_code == 0


def test_etl_once_on_a_warehouse_not_set_up_says_so(empty_db):
    _one_line(run_cli(empty_db, "ingestion/src/process_etl.py", "--once"), 2, "is not set up")


def test_the_bi_role_gets_the_permission_line_from_the_etl_and_a_file_load(roles, tmp_path):  # noqa: F811
    bi = roles["gh_bi"]
    _one_line(run_cli(bi, "ingestion/src/process_etl.py", "--once"), 3, "Permission denied in database")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(make_event(str(i))) for i in range(3)) + "\n")
    result = run_cli(bi, "ingestion/src/main.py", "--once", "--source", str(events))
    _one_line(result, 3, "Permission denied in database")
    assert "read-only transaction" in result.stderr


def test_the_etl_role_runs_gold_but_cannot_update_facts(roles, conn):  # noqa: F811
    load_events(conn, [make_event("1"), make_event("2")])
    result = run_cli(roles["gh_etl"], "ingestion/src/process_etl.py", "--once")
    assert result.returncode == 0, result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 2
    etl = db.connect(roles["gh_etl"])
    try:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            with etl.cursor() as cur:
                cur.execute("UPDATE gold.fact_events SET event_type = event_type")
    finally:
        etl.close()


def test_run_passes_on_the_code_of_a_child_that_ended_by_itself(wrong_password):
    result = run_cli(wrong_password, "-m", "ghdw", "run", timeout=120, env_extra={"DB_WAIT_SECONDS": "2"})
    assert result.returncode == 3, result.stderr
    from ghdw.ops.supervisor import exit_code

    assert exit_code([2, 0], 2) == 2 and exit_code([0, 0], None) == 0 and exit_code([-15, 0], None) == 1


# -- configuration -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, words",
    [
        ("postgresql://postgres:S3cretPW@127.0.0.1:abc/ghx", "port 'abc'"),
        ("postgresql://postgres:S3cretPW@127.0.0.1:70000/ghx", "port '70000'"),
        ("postgresql://postgres:S3cretPW@127.0.0.1:5432/ghx?sslmode=bogus", "sslmode='bogus'"),
        ("postgresql://postgres:S3cretPW@127.0.0.1/ghx?target_session_attrs=x", "target_session_attrs='x'"),
        ("postgresql://postgres:S3cretPW@127.0.0.1/ghx?connect_timeout=soon", "connect_timeout='soon'"),
    ],
)
def test_a_bad_database_url_is_a_configuration_error(settings, url, words):
    with pytest.raises(ConfigError, match=words.replace("?", r"\?")):
        load_settings({"DATABASE_URL": url})
    result = run_cli(replace(settings, database_url=url), "ingestion/src/process_etl.py", "--once")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "Configuration error: DATABASE_URL" in result.stderr and "S3cretPW" not in result.stderr


def test_a_database_url_with_several_hosts_is_described():
    settings = load_settings({"DATABASE_URL": "postgresql://u:S3cretPW@h1:5432,h2:5433/ghx?sslmode=require"})
    assert db.describe(settings) == "PostgreSQL u@h1,h2:5432,5433/ghx (DATABASE_URL)"
    assert "S3cretPW" not in db.describe(settings) and db.server_address(settings) == "h1,h2:5432,5433"


# -- setup_db --recreate --------------------------------------------------------------------------
def _setup(admin_settings, tmp_path, *args, **env):
    base = {"EMBEDDED_PG_DIR": str(admin_settings.embedded_pg_dir), "LOG_DIR": str(tmp_path / "logs")}
    base["PATH"] = "/usr/bin:/bin"
    return subprocess.run(
        [sys.executable, "setup_db.py", *args],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("name", ["postgres", "template1", "template0"])
def test_recreate_refuses_the_servers_own_databases(admin_settings, tmp_path, name):
    if not admin_settings.uses_embedded_db:
        pytest.skip("--recreate only works on the embedded server")
    _one_line(_setup(admin_settings, tmp_path, "--recreate", DB_NAME=name), 2, f"refuses to drop {name}")


def test_recreate_says_when_there_was_nothing_to_drop(admin_settings, admin_conn, tmp_path):
    if not admin_settings.uses_embedded_db:
        pytest.skip("--recreate only works on the embedded server")
    from conftest import RUN_ID, _drop_db

    name = f"never_there_{RUN_ID}"
    try:
        result = _setup(admin_settings, tmp_path, "--recreate", DB_NAME=name)
        assert result.returncode == 0, result.stderr
        assert f"Database {name} did not exist" in result.stderr and "Dropped database" not in result.stderr
    finally:
        _drop_db(admin_conn, name)


def test_recreate_on_a_configured_server_is_refused_with_exit_2(settings, tmp_path):
    result = run_cli(settings, "setup_db.py", "--recreate")
    _one_line(result, 2, "refusing to drop a configured database")


# -- the listener --------------------------------------------------------------------------------
def test_a_failed_poll_with_once_exits_1(settings):
    with LocalGitHub([make_event(str(i)) for i in range(5)]) as github:
        github.inject("reflect-auth:422")
        result = run_cli(settings, "ingestion/src/main.py", "--once", env_extra={"GITHUB_API_URL": github.url})
    assert result.returncode == 1, result.stderr
    assert "Poll failed after 0 page(s)" in result.stderr and "Traceback" not in result.stderr


def test_an_api_event_isolated_to_the_dlq_is_called_one(conn, caplog):
    with caplog.at_level(logging.WARNING, logger="ghdw"):
        # Too deep even for PostgreSQL: only the row-by-row path finds it.
        deep = RawEvent('{"id": "66", "payload": ' + "[" * 200_000 + "]" * 200_000 + "}")
        load_events(conn, [make_event("65"), deep])
    assert "API event isolated to the DLQ" in caplog.text and "line None" not in caplog.text


# -- psql ----------------------------------------------------------------------------------------
def test_psql_classifies_a_wrong_password_before_starting_psql(wrong_password):
    result = run_cli(wrong_password, "-m", "ghdw", "psql", "-c", "SELECT 1")
    _one_line(result, 3, "password authentication failed")


def test_psql_runs_a_psql_of_the_servers_major_version(settings):
    result = run_cli(settings, "-m", "ghdw", "psql", "-At", "-c", "SELECT 41 + 1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"
    assert "(psql 16) on PostgreSQL 16." in result.stderr


# -- stopping a file load ------------------------------------------------------------------------
def _events_file(path, first: int, count: int):
    path.write_text("\n".join(json.dumps(make_event(str(i))) for i in range(first, first + count)) + "\n")
    return path


def test_a_stop_ends_a_file_between_chunks_and_the_ledger_keeps_it_loading(settings, conn, tmp_path, monkeypatch):
    # A few events per chunk (a real chunk is ~16 MB of lines).
    monkeypatch.setattr(
        file_loads,
        "iter_stream_chunks",
        lambda stream, _size: iter_json_lines(iter(stream.read().splitlines(keepends=True)), 2_000),
    )
    path = _events_file(tmp_path / "big.jsonl", 0, 200)
    stop = threading.Event()

    class StopAfterFirstChunk(SerialLoader):
        def load(self, chunks, source, on_done):
            def done(report):
                on_done(report)
                stop.set()

            super().load(chunks, source, done)

    (target,) = file_load_targets(path)
    status, report, error = load_target(conn, target, StopAfterFirstChunk(conn), ledger=False, stop=stop)
    assert status == "stopped" and error.startswith("stopped after 1 chunk(s)")
    assert 0 < report.inserted < 200 and scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == report.inserted

    stop = threading.Event()
    stop.set()  # before the first chunk: nothing is loaded, the file stays 'loading'
    outcomes, _ = run_backfill(settings, file_targets([str(path)]), stop=stop)
    assert outcomes == {}
    stop.clear()
    targets = file_targets([str(path)])
    monkeypatch.setattr(file_loads, "prefetched", lambda chunks: _stop_after(chunks, stop, 2))
    outcomes, _ = run_backfill(settings, targets, stop=stop)
    assert outcomes == {targets[0].name: "stopped"}
    assert query(conn, "SELECT status, finished_at FROM bronze.backfill_files") == [("loading", None)]


def _stop_after(chunks, stop, count):
    for number, chunk in enumerate(chunks, 1):
        yield chunk
        if number == count:
            stop.set()


def _start(settings, tmp_path, *args):
    env = {"DATABASE_URL": settings.database_url, "LOG_DIR": str(tmp_path / "logs"), "PATH": os.environ["PATH"]}
    return subprocess.Popen(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.parametrize("command", ["main", "backfill"])
def test_sigterm_finishes_the_current_chunk_then_stops_a_load_with_exit_1(settings, conn, tmp_path, command):
    directory = tmp_path / "many"
    directory.mkdir()
    for number in range(300):
        _events_file(directory / f"f{number:03}.json", number * 10, 10)
    args = ["ingestion/src/main.py", "--once", "--source"] if command == "main" else ["ingestion/src/backfill.py"]
    proc = _start(settings, tmp_path, *args, str(directory))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Loaded " in line or "Completed f" in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines += proc.stdout.readlines()
    proc.wait(timeout=60)
    output = "".join(lines)
    assert proc.returncode == 1, output
    assert "SIGTERM received: finishing" in output and "Traceback" not in output
    assert "Rerun the same command to finish" in output
    loaded = scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events")
    assert 0 < loaded < 3000 and loaded % 10 == 0  # whole files (chunks) only
    if command == "backfill":
        statuses = {row[0] for row in query(conn, "SELECT status FROM bronze.backfill_files")}
        assert statuses <= {"completed", "loading"}, statuses


@pytest.mark.parametrize("fetched", [0, 3])
def test_a_stop_with_the_database_away_names_unstored_events_only_when_there_are_some(settings, caplog, fetched):
    from ghdw.api_client import PollResult
    from ghdw.main import Listener

    class Client:
        def poll(self, *_):
            return PollResult(events=[make_event(str(i)) for i in range(fetched)], started_at=0.0)

    def unreachable(_work):
        raise lifecycle.Stopped()

    listener = Listener(settings, Client(), stop=threading.Event())
    listener.polls = 1  # past the first poll's read of the poll log
    listener._with_database = unreachable
    with caplog.at_level(logging.INFO, logger="ghdw"), pytest.raises(lifecycle.Stopped):
        listener.poll_once()
    assert ("fetched events were not stored" in caplog.text) == bool(fetched), caplog.text


def test_a_listener_that_may_not_write_bronze_ends_with_the_permission_line(roles):  # noqa: F811
    with LocalGitHub([make_event(str(i)) for i in range(5)]) as github:
        result = run_cli(roles["gh_etl"], "ingestion/src/main.py", "--once", env_extra={"GITHUB_API_URL": github.url})
    _one_line(result, 3, "Permission denied in database")
