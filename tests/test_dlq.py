"""dlq.py: list, replay through the normal loader exactly once, resolve without deleting evidence."""
from __future__ import annotations

import json

from bronze_loader import load_chunk
from conftest import make_event, query, scalar
from dlq import list_entries, replay
from event_files import Chunk
from helpers import run_cli

BROKEN = '{"id": "501", "type": "PushEvent", "actor": {"id": 1, "login": "a"}, "repo": {"id": 2, "name": "o/r"}, ' \
         '"created_at": "2024-01-15T12:00:00Z"'  # truncated: the closing brace is missing


def _dead_letter(conn, text: str) -> int:
    load_chunk(conn, Chunk(data=text.encode()), "test")
    return scalar(conn, "SELECT MAX(dlq_id) FROM bronze.dead_letter_queue")


def test_replay_with_a_fixed_text_loads_the_event_exactly_once(settings, conn, tmp_path):
    dlq_id = _dead_letter(conn, BROKEN)
    fixed = tmp_path / "fixed.json"
    fixed.write_text(BROKEN + "}")
    first = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(fixed))
    assert first.returncode == 0, first.stderr
    assert "1 inserted" in first.stdout
    again = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(fixed))
    assert again.returncode == 0 and "Replayed 0 entries" in again.stdout  # resolved: nothing to do
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id = '501'") == 1
    raw_text, resolution = query(conn, "SELECT raw_text, resolution FROM bronze.dead_letter_queue "
                                       "WHERE dlq_id = %s", (dlq_id,))[0]
    assert raw_text == BROKEN  # the evidence is untouched
    assert resolution.startswith("replayed with a corrected text")


def test_replay_as_stored_dedups_and_a_second_failure_stays_open(conn):
    loaded = json.dumps(make_event("600"))
    # An entry an older loader rejected although it is fine, one whose event is already in bronze,
    # and one that is still broken.
    load_chunk(conn, Chunk(data=loaded.encode()), "test")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) VALUES "
                    "(%s, 'old bug', 'test'), (%s, 'old bug', 'test')",
                    (json.dumps(make_event("601")), loaded))
    conn.commit()
    broken_id = _dead_letter(conn, BROKEN)
    result = replay(conn, None)
    assert result == {"entries": 3, "inserted": 1, "duplicates": 1, "failed_again": 1}
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 2
    open_ids = [e["dlq_id"] for e in list_entries(conn)]
    assert open_ids == [broken_id]
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue WHERE replay_of = %s", (broken_id,)) == 1
    assert replay(conn, None)["inserted"] == 0  # rerun: nothing new, no duplicates


def test_list_and_resolve_keep_the_entry(settings, conn):
    dlq_id = _dead_letter(conn, BROKEN)
    listed = run_cli(settings, "ingestion/src/dlq.py", "list")
    assert f"#{dlq_id}" in listed.stdout and "OPEN" in listed.stdout
    done = run_cli(settings, "ingestion/src/dlq.py", "resolve", "--id", str(dlq_id), "--note", "test data")
    assert done.returncode == 0 and "Marked 1 entries resolved" in done.stdout
    assert list_entries(conn) == []
    everything = json.loads(run_cli(settings, "ingestion/src/dlq.py", "list", "--all", "--json").stdout)
    assert everything[0]["resolution"] == "resolved by operator: test data"
