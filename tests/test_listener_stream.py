"""The listener against a stream that moves while it pages, as GitHub's does (issue 10, item 1).

GitHub computes page N on the window as it is when page N is asked for; at 30-120 events a
second the window moves between page requests, so page 2 repeats the tail of page 1. The local
GitHub stands that in deterministically: `events_per_request` new events before each page
request, and `events_per_second` on a test clock that moves only when the listener sleeps.
"""

from dataclasses import replace

import pytest
from conftest import query

from ghdw.api_client import GitHubClient
from ghdw.dev.local_github import DEFAULT_SOURCES, LocalGitHub, read_events
from ghdw.main import Listener

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

STREAM = read_events(DEFAULT_SOURCES)  # ~2,500 recorded real events, oldest first
# GitHub answers a page of 100 events in about a quarter of a second: the stream's move per page request.
PAGE_REQUEST_SECONDS = 0.25
POLLS = 8  # several polls: enough to reach the steady state where every poll pages past page 1


class TestClock:
    """Seconds that pass only when someone sleeps: the stream's rate without waiting for it."""

    __test__ = False  # not a test class

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def stream(rate: float, clock: TestClock, *, interval: int) -> LocalGitHub:
    return LocalGitHub(
        STREAM,
        initially_produced=300,
        events_per_second=rate,
        clock=clock,
        events_per_request=round(rate * PAGE_REQUEST_SECONDS),
        poll_interval=interval,
    )


def run_listener(
    settings, server, clock, *, polls=POLLS, client_sleep=None, before_poll=None, max_attempts=None
) -> Listener:
    """Listener.run() for `polls` polls on the test clock; before_poll(n) runs before poll n (from 2)."""
    settings = replace(
        settings, github_api_url=server.url, github_token=None, poll_interval_seconds=server.poll_interval
    )
    client = GitHubClient(server.url, None, sleep=client_sleep or clock.sleep)
    client.monotonic = clock  # polls are timed on the test clock
    if max_attempts:
        client.max_attempts = max_attempts
    listener = Listener(settings, client)

    def between_polls(seconds):
        clock.sleep(seconds)
        if listener.polls >= polls:
            listener.stop.set()
        elif before_poll:
            before_poll(listener.polls + 1)

    listener.sleep = between_polls
    listener.run()
    listener.close()
    assert server.produced < len(server.events)  # the stream never ran dry: every poll saw it move
    return listener


def missed_events(conn, server) -> list[str]:
    """Events the stream produced between the oldest and the newest stored one that are not stored."""
    stored = {row[0] for row in query(conn, "SELECT event_id FROM bronze.raw_events")}
    produced = [str(e["id"]) for e in server.events[: server.produced]]
    positions = [i for i, event_id in enumerate(produced) if event_id in stored]
    return [event_id for event_id in produced[min(positions) : max(positions) + 1] if event_id not in stored]


def polls_logged(conn):
    return query(
        conn,
        "SELECT pages, events_new, inserted, is_gap_suspected, error_message FROM bronze.poll_log ORDER BY poll_id",
    )


def assert_stored_once(conn):
    assert query(conn, "SELECT COUNT(*) = COUNT(DISTINCT event_id) FROM bronze.raw_events") == [(True,)]


# (events/s, seconds between polls): more than 100 new events a poll, so polls page past page 1,
# yet fewer than 300 counting the stream's move while paging, so nothing has to be missed.
FITTING_STREAMS = [(30, 4), (60, 2), (120, 1)]


@pytest.mark.parametrize("rate, interval", FITTING_STREAMS)
def test_nothing_is_missed_while_the_stream_fits_in_300_between_polls(settings, conn, rate, interval):
    clock = TestClock()
    with stream(rate, clock, interval=interval) as server:
        run_listener(settings, server, clock)
        assert missed_events(conn, server) == []
    log = polls_logged(conn)
    assert len(log) == POLLS
    assert [gap for _, _, _, gap, _ in log] == [False] * POLLS
    assert all(pages >= 2 for pages, *_ in log[1:])  # the window moved under every poll's paging
    assert_stored_once(conn)


@pytest.mark.parametrize("rate, interval", FITTING_STREAMS)
def test_first_poll_pages_all_300_though_page_2_repeats_page_1(settings, conn, rate, interval):
    clock = TestClock()
    with stream(rate, clock, interval=interval) as server:
        run_listener(settings, server, clock, polls=1)
    moved = round(rate * PAGE_REQUEST_SECONDS)
    # Pages 2 and 3 each repeat the `moved` newest events of the page before: all else is new.
    assert polls_logged(conn) == [(3, 300 - 2 * moved, 300 - 2 * moved, False, None)]


@pytest.mark.parametrize("rate, interval", [(120, 3), (60, 6)])
def test_a_stream_faster_than_300_between_polls_flags_every_gap(settings, conn, rate, interval):
    clock, polls = TestClock(), 4  # over 400 events a poll: the recorded stream lasts 4 polls
    with stream(rate, clock, interval=interval) as server:
        run_listener(settings, server, clock, polls=polls)
        missed = missed_events(conn, server)
    log = polls_logged(conn)
    assert missed  # GitHub showed them only between two of our polls
    assert [gap for _, _, _, gap, _ in log] == [False] + [True] * (polls - 1)
    assert all(pages == 3 for pages, *_ in log)
    assert_stored_once(conn)


def test_a_burst_between_two_polls_flags_that_poll_only(settings, conn):
    clock = TestClock()
    with stream(60, clock, interval=2) as server:
        run_listener(settings, server, clock, before_poll=lambda n: n == 4 and server.advance(400))
        missed = missed_events(conn, server)
    assert len(missed) >= 100  # 400 arrived at once: at least 100 were never shown to a poll
    assert [gap for _, _, _, gap, _ in polls_logged(conn)] == [False, False, False, True, False, False, False, False]


# Faults on pages 2 and 3 of the fourth poll. The retry's backoff is random jitter, so here the
# client's sleeps do not move the test clock: the stream's move during a retry is the
# `events_per_request` produced before the retried request, which keeps the outcome deterministic.
PAGE_FAULTS = {
    "500 on page 2": [("500", 2)],
    "truncated body on page 3": [("truncated", 3)],
    "502 on page 2, 500 on page 3": [("502", 2), ("500", 3)],
    "two retries on page 2": [("503", 2), ("truncated", 2)],
    "rate limit then 500 on page 3": [("429-retry-after:1", 3), ("500", 3)],
}
# Streams under which every poll needs all 3 pages, with room left for two retried requests.
THREE_PAGE_STREAMS = [(30, 7), (60, 3)]


@pytest.mark.parametrize("faults", PAGE_FAULTS.values(), ids=PAGE_FAULTS.keys())
@pytest.mark.parametrize("rate, interval", THREE_PAGE_STREAMS)
def test_retried_pages_2_and_3_lose_nothing(settings, conn, rate, interval, faults):
    clock, retries = TestClock(), RecordingSleep()
    with stream(rate, clock, interval=interval) as server:

        def inject_faults(poll):
            if poll == 4:
                for fault, page in faults:
                    server.inject(fault, page=page)

        run_listener(settings, server, clock, client_sleep=retries, before_poll=inject_faults)
        assert not any(server.page_faults.values())  # every fault was served
        assert missed_events(conn, server) == []
    log = polls_logged(conn)
    assert len(retries.calls) == len(faults)
    assert [pages for pages, *_ in log] == [3] * POLLS
    assert [gap for _, _, _, gap, _ in log] == [False] * POLLS
    assert_stored_once(conn)


def test_a_page_that_fails_for_good_keeps_what_was_fetched_and_the_next_poll_fills_the_hole(settings, conn):
    clock = TestClock()
    with stream(30, clock, interval=3) as server:  # about 110 new events a poll: 2 pages
        run_listener(
            settings,
            server,
            clock,
            client_sleep=RecordingSleep(),
            max_attempts=2,
            before_poll=lambda poll: poll == 4 and server.inject("500", "500", page=2),
        )
        assert not any(server.page_faults.values())
        assert missed_events(conn, server) == []
    log = polls_logged(conn)
    pages, events_new, inserted, gap, error = log[3]
    assert (pages, gap, error) == (1, True, "GitHub server error 500")
    assert inserted == events_new > 0  # fetched before the failure, and stored (at-least-once)
    # The next poll paged through those (no overlap: a hole may lie below them) down to poll 3's events.
    assert [gap for _, _, _, gap, _ in log] == [False, False, False, True, False, False, False, False]
    assert_stored_once(conn)


def test_a_hole_the_stream_has_moved_past_is_flagged_not_hidden(settings, conn):
    clock = TestClock()
    with stream(60, clock, interval=3) as server:  # about 230 new events a poll: 3 pages
        run_listener(
            settings,
            server,
            clock,
            client_sleep=RecordingSleep(),
            max_attempts=2,
            before_poll=lambda poll: poll == 4 and server.inject("500", "500", page=3),
        )
        missed = missed_events(conn, server)
    log = polls_logged(conn)
    assert missed
    # Poll 4 stopped at page 3; by poll 5 the events below page 2 had left the window. Both say so;
    # poll 6 overlaps poll 5 again.
    assert [gap for _, _, _, gap, _ in log] == [False, False, False, True, True, False, False, False]
    assert log[3][0] == 2 and log[3][2] > 0
    assert_stored_once(conn)
