"""Events nested deeper than Python's recursion limit: files, backfill and the listener load the
events around them, and the deep event itself reaches bronze, or the DLQ with a reason, never a
RecursionError (PostgreSQL accepts JSON nested far deeper than json.loads can go)."""

import gzip
import json

import pytest
from conftest import SAMPLE_FILE, make_event, query, scalar
from test_listener import make_listener

from ghdw.bronze.backfill import run_backfill
from ghdw.bronze_loader import events_to_chunk, load_chunk, load_events
from ghdw.dev.local_github import LocalGitHub, read_events
from ghdw.main import load_files
from ghdw.sources import json_split
from ghdw.sources.gharchive import file_targets

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

GOOD = [make_event(str(i)) for i in range(1, 21)]
# Two depths: one PostgreSQL parses (the event must land in bronze), one far past anything
# recursive (PostgreSQL may refuse it: then the DLQ, with its reason).
DEPTHS = [10_000, 100_000]


def deep_event_text(depth: int, event_id: str = "deep", newline: str = "") -> str:
    """An event whose payload is `depth` nested arrays; with newline="\\n", one bracket a line."""
    return (
        f'{{"id": "{event_id}", "type": "PushEvent", "actor": {{"id": 1, "login": "octocat"}}, '
        f'"repo": {{"id": 10, "name": "octocat/hello"}}, "created_at": "2024-01-15T12:34:56Z", "payload": '
        + ("[" + newline) * depth
        + ("]" + newline) * depth
        + "}"
    )


def deep_value(depth: int):
    """A Python value nested `depth` lists deep, built without recursion."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def assert_deep_event_in_bronze_or_dlq(conn, event_id="deep"):
    in_bronze = scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id = %s", (event_id,))
    reasons = query(
        conn, "SELECT error_message FROM bronze.dead_letter_queue WHERE raw_text LIKE %s", (f'{{"id": "{event_id}"%',)
    )
    assert in_bronze + len(reasons) == 1
    assert all(reason for (reason,) in reasons)
    return in_bronze


def good_ids(conn) -> set[str]:
    return {r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events WHERE event_id <> 'deep'")}


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "shape", ["json_lines_first_line", "json_lines_middle", "array", "pretty_array", "single_pretty_document"]
)
def test_deep_event_in_a_file_loads_with_the_events_around_it(conn, tmp_path, shape, compress, depth):
    deep = deep_event_text(depth, newline="\n" if shape in ("pretty_array", "single_pretty_document") else "")
    good = [json.dumps(e) for e in GOOD]
    text = {
        "json_lines_first_line": "\n".join([deep] + good) + "\n",
        "json_lines_middle": "\n".join(good[:10] + [deep] + good[10:]) + "\n",
        "array": "[" + ",".join(good[:10] + [deep] + good[10:]) + "]",
        "pretty_array": "[\n" + ",\n".join(good[:10] + [deep] + good[10:]) + "\n]\n",
        "single_pretty_document": deep + "\n",
    }[shape]
    data = text.encode()
    path = tmp_path / ("deep.json.gz" if compress else "deep.json")
    path.write_bytes(gzip.compress(data) if compress else data)

    report, damaged = load_files(conn, [path])

    assert damaged == []
    expected_good = set() if shape == "single_pretty_document" else {e["id"] for e in GOOD}
    assert good_ids(conn) == expected_good
    in_bronze = assert_deep_event_in_bronze_or_dlq(conn)
    if depth == 10_000:
        assert in_bronze == 1
        assert (
            scalar(
                conn,
                "SELECT jsonb_typeof(raw_data #> '{payload,0,0,0}') FROM bronze.raw_events WHERE event_id = 'deep'",
            )
            == "array"
        )


def test_backfill_of_a_file_with_a_deep_first_line_ends_completed(settings, conn, tmp_path):
    path = tmp_path / "2024-01-15-12.json.gz"
    path.write_bytes(
        gzip.compress(("\n".join([deep_event_text(100_000)] + [json.dumps(e) for e in GOOD]) + "\n").encode())
    )
    outcomes, total = run_backfill(settings, file_targets([str(path)]))
    assert outcomes == {path.name: "completed"}
    assert scalar(conn, "SELECT status FROM bronze.backfill_files") == "completed"
    assert good_ids(conn) == {e["id"] for e in GOOD}
    assert_deep_event_in_bronze_or_dlq(conn)


@pytest.mark.parametrize("depth", DEPTHS)
def test_listener_loads_a_page_holding_a_deep_event(settings, conn, depth):
    events = read_events([SAMPLE_FILE])
    with LocalGitHub(events, initially_produced=300, poll_interval=60) as github:
        page = events[-1:-101:-1]  # what page 1 holds anyway, newest first
        body = (
            "["
            + ",".join(
                [json.dumps(e) for e in page[:50]]
                + [deep_event_text(depth, newline="\n")]
                + [json.dumps(e) for e in page[50:]]
            )
            + "]"
        )
        github.serve_raw(body.encode())
        listener = make_listener(settings, github)

        result = listener.poll_once()

        assert result.fetched == 301
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id <> 'deep'") == 300
    assert_deep_event_in_bronze_or_dlq(conn)
    assert query(conn, "SELECT error_message FROM bronze.poll_log") == [(None,)]


def test_a_deep_event_that_stays_in_the_window_is_dead_lettered_once(settings, conn):
    # Its id is read without recursion: stored by a complete poll, it counts as seen (and as the
    # overlap) like any other event, rather than going to the loader again on every poll.
    events = read_events([SAMPLE_FILE])
    deep = deep_event_text(100_000)
    with LocalGitHub(events, initially_produced=100, poll_interval=60) as github:
        listener = make_listener(settings, github)
        listener.poll_once()
        for poll in range(3):
            github.advance(1)
            window = [json.dumps(e) for e in github.visible()]
            github.serve_raw(("[" + ",".join(window[:1] + [deep] + window[1:]) + "]").encode())
            result = listener.poll_once()
            assert (len(result.events), result.overlap_found, result.gap_suspected) == (
                2 if poll == 0 else 1,
                True,
                False,
            )
    assert_deep_event_in_bronze_or_dlq(conn)


def test_events_python_holds_but_cannot_dump_recursively_still_load(conn):
    deep = make_event("deep", payload=deep_value(5_000))
    chunk = events_to_chunk([make_event("1"), deep, make_event("2")])
    assert chunk.data.count(b"\n") == 2 and chunk.rejects == []
    load_chunk(conn, chunk, "api")
    assert good_ids(conn) == {"1", "2"}
    assert assert_deep_event_in_bronze_or_dlq(conn) == 1


def test_raw_event_text_is_passed_through_as_is(conn):
    raw = json_split.RawEvent(deep_event_text(10_000))
    report = load_events(conn, [make_event("1"), raw])
    assert (report.inserted, report.errors) == (2, 0)


def test_dumps_without_recursion_writes_what_json_dumps_writes():
    values = read_events([SAMPLE_FILE]) + [
        {
            "s": '\u00e9\ud83d\ude00\n"\\',
            "n": [0, -1, 2**70, 1.5, 1e300, float("nan"), float("inf")],
            "b": [True, False, None],
            1: "int key",
            2.5: "float key",
            None: "null key",
            True: "bool key",  # noqa: F601 - collides with 1, as json.dumps sees it
            "t": (1, 2),
            "e": {},
            "l": [],
        }
    ]  # noqa: F601 - True and 1 collide, as json.dumps sees it
    for value in values:
        assert json_split.dumps(value) == json.dumps(value, separators=(",", ":"))
