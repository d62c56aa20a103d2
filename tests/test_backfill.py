"""GH Archive backfill: ranges over HTTP, resumable, damaged files, completeness, concurrency."""

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import REPO_ROOT, make_event, query, scalar

from ghdw.bronze.backfill import run_backfill
from ghdw.ops.completeness import completeness
from ghdw.sources.gharchive import file_targets, hour_targets, parse_hour

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)


def hour_file(directory, name: str, count: int, start: int = 0, pad: int = 0) -> list[str]:
    ids = [f"{name}-{i}" for i in range(start, start + count)]
    hour = parse_hour(name)
    lines = [
        json.dumps(
            make_event(
                i, created_at=hour.strftime("%Y-%m-%dT%H:17:00Z"), payload={"pad": os.urandom(pad).hex()} if pad else {}
            )
        )
        for i in ids
    ]
    (directory / f"{name}.json.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return ids


@pytest.fixture
def archive(tmp_path):
    """A local GH Archive: a static HTTP server on loopback over a directory of hourly gzip files."""
    directory = tmp_path / "archive"
    directory.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield directory, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_range_of_hours_is_fetched_over_http(settings, conn, archive):
    directory, url = archive
    for hour in range(3):
        hour_file(directory, f"2024-01-01-{hour}", 50)
    outcomes, total = run_backfill(settings, hour_targets(parse_hour("2024-01-01-0"), parse_hour("2024-01-01-2"), url))
    assert outcomes == {f"2024-01-01-{h}.json.gz": "completed" for h in range(3)}
    assert total.inserted == 150
    assert query(conn, "SELECT DISTINCT source FROM bronze.raw_events ORDER BY 1") == [
        ("gharchive:2024-01-01-0",),
        ("gharchive:2024-01-01-1",),
        ("gharchive:2024-01-01-2",),
    ]
    row = query(
        conn,
        "SELECT status, lines, loaded, bytes > 0, length(sha256) FROM bronze.backfill_files "
        "WHERE file_name = '2024-01-01-1.json.gz'",
    )
    assert row == [("completed", 50, 50, True, 64)]


def test_rerun_skips_completed_files_and_force_reloads_without_duplicates(settings, conn, archive):
    directory, _ = archive
    hour_file(directory, "2024-01-01-5", 40)
    targets = file_targets([str(directory / "*.json.gz")])
    run_backfill(settings, targets)
    outcomes, total = run_backfill(settings, targets)
    assert outcomes == {"2024-01-01-5.json.gz": "skipped"} and total.lines == 0
    outcomes, total = run_backfill(settings, targets, force=True)
    assert outcomes == {"2024-01-01-5.json.gz": "completed"} and (total.inserted, total.duplicates) == (0, 40)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 40


def test_truncated_gzip_loads_the_good_part_marks_partial_and_continues(settings, conn, archive):
    directory, url = archive
    hour_file(directory, "2024-01-02-0", 3000, pad=200)
    data = (directory / "2024-01-02-0.json.gz").read_bytes()
    (directory / "2024-01-02-0.json.gz").write_bytes(data[: len(data) // 2])
    hour_file(directory, "2024-01-02-1", 10)
    outcomes, _ = run_backfill(settings, hour_targets(parse_hour("2024-01-02-0"), parse_hour("2024-01-02-1"), url))
    assert outcomes == {"2024-01-02-0.json.gz": "partial", "2024-01-02-1.json.gz": "completed"}
    loaded = scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE source = 'gharchive:2024-01-02-0'")
    assert 500 < loaded < 3000
    assert "truncated" in scalar(conn, "SELECT error_message FROM bronze.backfill_files WHERE status = 'partial'")


def test_corrupt_line_goes_to_the_dlq(settings, conn, tmp_path):
    path = tmp_path / "2024-01-03-0.json"
    path.write_text(json.dumps(make_event("a")) + "\n{broken\n" + json.dumps(make_event("b")) + "\n")
    outcomes, total = run_backfill(settings, file_targets([str(path)]))
    assert outcomes[path.name] == "completed" and (total.inserted, total.errors) == (2, 1)
    assert query(conn, "SELECT raw_text, source_line, source FROM bronze.dead_letter_queue") == [
        ("{broken", 2, "gharchive:2024-01-03-0")
    ]


def test_killed_mid_file_then_rerun_gives_exactly_the_file_once(settings, conn, tmp_path):
    path = tmp_path / "2024-01-04-0.json.gz"
    ids = hour_file(tmp_path, "2024-01-04-0", 60_000, pad=100)
    env = {"DATABASE_URL": settings.database_url, "LOG_DIR": str(tmp_path / "logs"), "PATH": os.environ["PATH"]}
    proc = subprocess.Popen(
        [sys.executable, "ingestion/src/backfill.py", str(path)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 0:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial_count = scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events")
    assert 0 < partial_count < len(ids)
    assert scalar(conn, "SELECT status FROM bronze.backfill_files") == "loading"
    rerun = subprocess.run(
        [sys.executable, "ingestion/src/backfill.py", str(path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == len(ids)
    assert {r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events")} == set(ids)
    assert scalar(conn, "SELECT status FROM bronze.backfill_files") == "completed"


def test_completeness_report_lists_a_missing_hour_and_listener_only_hours(settings, conn, tmp_path):
    from helpers import run_etl

    from ghdw.bronze_loader import load_events

    hour_file(tmp_path, "2024-01-05-0", 5)
    hour_file(tmp_path, "2024-01-05-2", 5)
    run_backfill(settings, file_targets([str(tmp_path / "*.json.gz")]))
    load_events(conn, [make_event("live", created_at="2024-01-05T03:10:00Z")], "api")
    run_etl(conn)
    rows = completeness(conn, parse_hour("2024-01-05-0"), parse_hour("2024-01-05-3"))
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        ("2024-01-05-0", 5, 5, "archive"),
        ("2024-01-05-1", 0, 0, "missing"),
        ("2024-01-05-2", 5, 5, "archive"),
        ("2024-01-05-3", 1, 1, "listener sample only"),
    ]


def test_backfill_and_listener_concurrently_lose_and_duplicate_nothing(settings, conn, tmp_path):
    from ghdw.bronze_loader import load_events
    from ghdw.core import db

    ids = hour_file(tmp_path, "2024-01-06-0", 20_000)
    overlap = [make_event(i) for i in ids[::7]] + [make_event(f"live-{i}") for i in range(500)]
    errors = []

    def listener():
        try:
            with db.connection(settings) as c:
                for start in range(0, len(overlap), 100):
                    load_events(c, overlap[start : start + 100], "api")
        except Exception as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=listener)
    thread.start()
    run_backfill(settings, file_targets([str(tmp_path / "2024-01-06-0.json.gz")]))
    thread.join()
    assert errors == []
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 20_500
    assert scalar(conn, "SELECT COUNT(DISTINCT event_id) FROM bronze.raw_events") == 20_500


def test_parallel_load_of_many_chunks_with_repeated_events_is_exact(settings, conn, tmp_path, monkeypatch):
    """Two connections loading chunks of one file at once, the same events in several chunks and
    files: every event once, and the file's counts add up."""
    from ghdw.bronze import file_loads

    monkeypatch.setattr(file_loads, "CHUNK_BYTES", 8_192)  # a chunk per 1 MiB block read: several per file
    first = hour_file(tmp_path, "2024-01-07-0", 1_500, pad=1_000)
    # The second file repeats the first one's last 500 events, then 1,000 new ones.
    second = hour_file(tmp_path, "2024-01-07-1", 1_000, pad=1_000)
    lines = [json.dumps(make_event(i, created_at="2024-01-07T00:17:00Z")) for i in first[-500:]]
    lines += gzip.decompress((tmp_path / "2024-01-07-1.json.gz").read_bytes()).decode().splitlines()
    (tmp_path / "2024-01-07-1.json.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    outcomes, total = run_backfill(replace(settings, backfill_workers=2), file_targets([str(tmp_path / "*.json.gz")]))
    assert set(outcomes.values()) == {"completed"}
    assert (total.lines, total.inserted, total.duplicates, total.errors) == (3_000, 2_500, 500, 0)
    assert query(conn, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM bronze.raw_events") == [(2_500, 2_500)]
    assert len(second) == 1_000 and scalar(conn, "SELECT COUNT(DISTINCT ingest_xid) FROM bronze.raw_events") >= 5


def test_a_file_reloaded_after_a_crash_dead_letters_its_bad_lines_once(settings, conn, tmp_path):
    path = tmp_path / "2024-01-05-0.json"
    lines = [json.dumps(make_event(f"r{i}")) if i % 50 else f'{{"id": "bad-{i}", broken' for i in range(1, 1001)]
    path.write_text("\n".join(lines) + "\n")
    bad = sum(1 for line in lines if "broken" in line)
    run_backfill(settings, file_targets([str(path)]))
    # A crash after some chunks committed leaves the file 'loading': the rerun loads it all again.
    with conn.cursor() as cur:
        cur.execute("UPDATE bronze.backfill_files SET status = 'loading'")
    conn.commit()
    outcomes, total = run_backfill(settings, file_targets([str(path)]))
    assert outcomes[path.name] == "completed"
    assert (total.inserted, total.duplicates, total.errors, total.already_in_dlq) == (0, len(lines) - bad, bad, bad)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == bad
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") + bad == len(lines)


def test_library_functions_raise_and_only_the_command_exits(tmp_path):
    """parse_hour and file_targets raise exceptions a caller can handle; the CLI turns them into a
    message and exit status 1."""
    import pytest

    from ghdw.sources.gharchive import InvalidHour, looks_like_hour

    with pytest.raises(InvalidHour, match="not an hour"):
        parse_hour("yesterday")
    with pytest.raises(FileNotFoundError):
        file_targets([str(tmp_path / "nothing-*.json.gz")])
    assert looks_like_hour("2024-01-01-5") and not looks_like_hour("events")
