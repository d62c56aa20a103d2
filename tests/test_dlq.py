"""dlq.py: list, replay through the normal loader exactly once, resolve without deleting evidence."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from conftest import make_event, query, scalar
from helpers import run_cli

from ghdw.bronze.dlq import list_entries, replay
from ghdw.bronze_loader import load_chunk
from ghdw.core import schema as setup_db
from ghdw.sources.event_files import Chunk

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

BROKEN = (
    '{"id": "501", "type": "PushEvent", "actor": {"id": 1, "login": "a"}, "repo": {"id": 2, "name": "o/r"}, '
    '"created_at": "2024-01-15T12:00:00Z"'
)  # truncated: the closing brace is missing


def _dead_letter(conn, text: str) -> int:
    load_chunk(conn, Chunk(data=text.encode()), "test")
    return scalar(conn, "SELECT MAX(dlq_id) FROM bronze.dead_letter_queue")


def test_replay_with_a_fixed_text_loads_the_event_exactly_once(settings, conn, tmp_path):
    dlq_id = _dead_letter(conn, BROKEN)
    fixed = tmp_path / "fixed.json"
    fixed.write_text(BROKEN + "}")
    first = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(fixed))
    assert first.returncode == 0, first.stderr
    assert "1 resolved, 0 still open (1 events inserted" in first.stdout
    again = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(fixed))
    assert again.returncode == 0 and "Replayed 0 entries" in again.stdout  # resolved: nothing to do
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id = '501'") == 1
    raw_text, resolution = query(
        conn, "SELECT raw_text, resolution FROM bronze.dead_letter_queue WHERE dlq_id = %s", (dlq_id,)
    )[0]
    assert raw_text == BROKEN  # the evidence is untouched
    assert resolution.startswith("replayed with a corrected text")


def test_replay_as_stored_dedups_and_a_second_failure_stays_open(conn):
    loaded = json.dumps(make_event("600"))
    # An entry an older loader rejected although it is fine, one whose event is already in bronze,
    # and one that is still broken.
    load_chunk(conn, Chunk(data=loaded.encode()), "test")
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) VALUES "
            "(%s, 'old bug', 'test'), (%s, 'old bug', 'test')",
            (json.dumps(make_event("601")), loaded),
        )
    conn.commit()
    broken_id = _dead_letter(conn, BROKEN)
    result = replay(conn, None)
    assert (result.entries, result.resolved, result.inserted, result.duplicates) == (3, 2, 1, 1)
    assert list(result.still_open) == [broken_id]
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 2
    open_ids = [e["dlq_id"] for e in list_entries(conn)]
    assert open_ids == [broken_id]
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue WHERE replay_of = %s", (broken_id,)) == 1
    assert replay(conn, None).inserted == 0  # rerun: nothing new, no duplicates


def test_list_and_resolve_keep_the_entry(settings, conn):
    dlq_id = _dead_letter(conn, BROKEN)
    listed = run_cli(settings, "ingestion/src/dlq.py", "list")
    assert f"#{dlq_id}" in listed.stdout and "OPEN" in listed.stdout
    done = run_cli(settings, "ingestion/src/dlq.py", "resolve", "--id", str(dlq_id), "--note", "test data")
    assert done.returncode == 0 and "Marked 1 entries resolved" in done.stdout
    assert list_entries(conn) == []
    everything = json.loads(run_cli(settings, "ingestion/src/dlq.py", "list", "--all", "--json").stdout)
    assert everything[0]["resolution"] == "resolved by operator: test data"


# --- Replay resolves an entry only when its events are in bronze (issue 10, item 7) -------------


def _open_ids(conn) -> set[int]:
    return {e["dlq_id"] for e in list_entries(conn, limit=1000)}


def _store_entry(conn, raw_text: str) -> int:
    """An open DLQ entry as an older loader (or a hand-made row) left it."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) "
            "VALUES (%s, 'old loader', 'test') RETURNING dlq_id",
            (raw_text,),
        )
        dlq_id = cur.fetchone()[0]
    conn.commit()
    return dlq_id


def _line(event_id: str, **extra) -> str:
    return json.dumps(make_event(event_id, **extra))


@pytest.mark.parametrize(
    "fixed",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"  \n\t\n ", id="whitespace"),
        pytest.param(b"not json at all", id="invalid-json"),
        pytest.param(b"{}", id="object-without-id"),
        pytest.param(b"null", id="json-null"),
        pytest.param(b"[1, 2]", id="array-of-non-events"),
        pytest.param(b'[{"id": "700", "type": "PushEvent"}', id="unclosed-array"),
        pytest.param(b'{"id": "700", "type": "PushEvent"}]', id="object-closed-as-array"),
        pytest.param(b'{"id": "700", "type": "\xff"}', id="not-utf8"),
        pytest.param(b'{"id": "700", "type": "\x00"}', id="raw-nul-byte"),
    ],
)
def test_replay_with_a_fixed_file_that_holds_no_loadable_event_resolves_nothing(settings, conn, tmp_path, fixed):
    dlq_id = _dead_letter(conn, BROKEN)
    path = tmp_path / "fixed.json"
    path.write_bytes(fixed)
    result = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 resolved, 1 still open" in result.stdout
    assert f"#{dlq_id} still open:" in result.stdout
    assert dlq_id in _open_ids(conn)
    assert query(conn, "SELECT resolved_at, resolution FROM bronze.dead_letter_queue WHERE dlq_id = %s", (dlq_id,)) == [
        (None, None)
    ]
    # The attempt leaves a trace, resolved at once, so it does not pile up open entries.
    assert (
        scalar(
            conn,
            "SELECT COUNT(*) FROM bronze.dead_letter_queue WHERE replay_of = %s AND resolved_at IS NOT NULL",
            (dlq_id,),
        )
        >= 1
    )


@pytest.mark.parametrize("shape", ["json-array", "json-lines", "pretty-printed", "gzip"])
def test_replay_with_a_fixed_file_of_several_events_loads_them_all(settings, conn, tmp_path, shape):
    dlq_id = _dead_letter(conn, BROKEN)
    events = [make_event("501"), make_event("502")]
    text = {
        "json-array": json.dumps(events),
        "json-lines": "\n".join(json.dumps(e) for e in events) + "\n",
        "pretty-printed": "\n".join(json.dumps(e, indent=2) for e in events),
        "gzip": json.dumps(events),
    }[shape].encode()
    path = tmp_path / "fixed.json"
    path.write_bytes(gzip.compress(text) if shape == "gzip" else text)
    result = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 resolved, 0 still open" in result.stdout
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id IN ('501', '502')") == 2
    assert dlq_id not in _open_ids(conn)


def test_a_fixed_file_with_one_bad_event_keeps_the_entry_open(settings, conn, tmp_path):
    dlq_id = _dead_letter(conn, BROKEN)
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps([make_event("501"), {"type": "PushEvent"}]))
    result = run_cli(settings, "ingestion/src/dlq.py", "replay", "--id", str(dlq_id), "--fixed-file", str(path))
    assert result.returncode == 1
    assert "0 resolved, 1 still open" in result.stdout and 'no "id"' in result.stdout
    assert dlq_id in _open_ids(conn)
    # The good event is in bronze all the same; replaying it again later dedups it.
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id = '501'") == 1


def test_replay_all_resolves_exactly_the_entries_whose_events_reach_bronze(settings, conn):
    resolvable = {
        _store_entry(conn, _line("801")): ["801"],
        # several events in one stored text: JSON lines and a JSON array
        _store_entry(conn, _line("802") + "\n" + _line("803")): ["802", "803"],
        _store_entry(conn, json.dumps([make_event("804"), make_event("805")])): ["804", "805"],
        # \u0000 that jsonb rejects: the loader repairs it, and the entry's event is found by its id
        _store_entry(conn, _line("806", login="a\\u0000b").replace("\\\\u0000", "\\u0000")): ["806"],
        _store_entry(conn, json.dumps(make_event("807"), indent=2)): ["807"],
    }
    still_broken = [
        _store_entry(conn, BROKEN),  # invalid JSON
        _store_entry(conn, ""),  # nothing at all
        _store_entry(conn, "   "),  # whitespace
        _store_entry(conn, '"just a string"'),  # valid JSON, not an event
        _store_entry(conn, '{"type": "PushEvent"}'),  # an object without an id
        _store_entry(conn, "[1, 2]"),  # an array of non-events
        _store_entry(conn, _line("820") + "]"),  # object closed as an array
        _store_entry(conn, "[" + _line("821")),  # unclosed array
        _store_entry(conn, _line("822") + "\nnot json"),  # one good line, one bad
        _store_entry(conn, '{"id": "823", "type": "\\xff"}'),  # unreadable text, as the loader stores it
        _store_entry(conn, '{"id": "824", "bad": "\\ud800"}'),  # a lone surrogate jsonb refuses
    ]
    result = run_cli(settings, "ingestion/src/dlq.py", "replay", "--all")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{len(resolvable)} resolved, {len(still_broken)} still open" in result.stdout
    assert _open_ids(conn) == set(still_broken)
    every_event = [e for events in resolvable.values() for e in events]
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE event_id = ANY(%s)", (every_event,)) == len(
        every_event
    )
    # Every entry that failed again has its own resolved trace row, pointing back at it.
    traced = query(
        conn,
        "SELECT DISTINCT replay_of FROM bronze.dead_letter_queue "
        "WHERE replay_of IS NOT NULL AND resolved_at IS NOT NULL",
    )
    assert {r[0] for r in traced} == set(still_broken)
    again = run_cli(settings, "ingestion/src/dlq.py", "replay", "--all")
    assert again.returncode == 1 and f"0 resolved, {len(still_broken)} still open" in again.stdout


# --- Stored error messages and listings are bounded (issue 10, item 8) ---------------------------

GARBAGE_CHARS = 50 << 20  # the 50 MB garbage line that once stored a 52 MB error_message
OUTPUT_BOUND = 64 << 10  # generous for a page of entries or a log, tiny next to the garbage
# Twice the DDL's bound (bronze.error_message_max_chars(), 2,000): these tests are about floods,
# and the exact figure is checked once, below.
MESSAGE_BOUND = 4_000


def _assert_bounded(conn, message: str) -> None:
    assert len(message) <= MESSAGE_BOUND
    assert re.search(r"\[\.\.\. \d+ of \d+ chars cut\]$", message), message[-200:]


def test_a_50_mb_garbage_line_through_main_stores_a_bounded_message_and_the_whole_text(settings, conn, tmp_path):
    path = tmp_path / "garbage.jsonl"
    path.write_text(_line("900") + "\n" + "x" * GARBAGE_CHARS + "\n")
    loaded = run_cli(settings, "ingestion/src/main.py", "--once", "--source", str(path))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert len(loaded.stdout) + len(loaded.stderr) < OUTPUT_BOUND
    assert sum(f.stat().st_size for f in settings.log_dir.rglob("*") if f.is_file()) < OUTPUT_BOUND
    dlq_id, message, raw_chars = query(
        conn, "SELECT dlq_id, error_message, length(raw_text) FROM bronze.dead_letter_queue"
    )[0]
    _assert_bounded(conn, message)
    assert message.startswith("invalid JSON")
    assert raw_chars == GARBAGE_CHARS  # the evidence is whole

    for args in (["list"], ["list", "--json"], ["list", "--all"]):
        listed = run_cli(settings, "ingestion/src/dlq.py", *args)
        assert listed.returncode == 0 and len(listed.stdout) < OUTPUT_BOUND, args
        assert f"{dlq_id}" in listed.stdout
    # On purpose, all of it: show prints the entry with its raw_text, --raw the text alone.
    shown = run_cli(settings, "ingestion/src/dlq.py", "show", "--id", str(dlq_id))
    assert shown.returncode == 0 and shown.stdout.endswith("x" * GARBAGE_CHARS + "\n")
    whole = run_cli(settings, "ingestion/src/dlq.py", "show", "--id", str(dlq_id), "--raw")
    assert whole.returncode == 0 and whole.stdout == "x" * GARBAGE_CHARS


def test_a_50_mb_garbage_line_through_the_loader_stores_a_bounded_message(conn):
    report = load_chunk(conn, Chunk(data=b"x" * GARBAGE_CHARS), "test")
    assert report.errors == 1
    message, raw_chars = query(conn, "SELECT error_message, length(raw_text) FROM bronze.dead_letter_queue")[0]
    _assert_bounded(conn, message)
    assert raw_chars == GARBAGE_CHARS


def test_every_stored_error_message_is_bounded_on_insert_and_update(conn):
    long_message = "y" * 100_000
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) VALUES ('z', %s, 'test')",
            (long_message,),
        )
        cur.execute("INSERT INTO bronze.poll_log (error_message) VALUES (%s)", (long_message,))
        cur.execute(
            "INSERT INTO bronze.backfill_files (file_name, source_uri, status, error_message) "
            "VALUES ('f', 'u', 'failed', %s)",
            (long_message,),
        )
        for table in ("dead_letter_queue", "poll_log", "backfill_files"):
            cur.execute(f"SELECT error_message FROM bronze.{table}")
            _assert_bounded(conn, cur.fetchone()[0])
            cur.execute(f"UPDATE bronze.{table} SET error_message = %s", (long_message + "!",))
            cur.execute(f"SELECT error_message FROM bronze.{table}")
            _assert_bounded(conn, cur.fetchone()[0])
        # The bound is used, not undershot: only the note's digits can make it a little shorter.
        cur.execute("SELECT bronze.error_message_max_chars() - length(error_message) FROM bronze.poll_log")
        assert 0 <= cur.fetchone()[0] < 10
        cur.execute("SELECT error_message FROM bronze.poll_log")
        message = cur.fetchone()[0]
        kept = message[: message.index(" [... ")]
        assert kept == long_message[: len(kept)]
        assert message.endswith(f"[... {100_001 - len(kept)} of 100001 chars cut]")
    conn.commit()


def test_setup_bounds_messages_stored_before_the_bound_existed(conn):
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA ghdw_meta CASCADE")  # a warehouse from before the version table
        cur.execute("ALTER TABLE bronze.dead_letter_queue DISABLE TRIGGER trg_dead_letter_queue_bound_error_message")
        cur.execute(
            "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) VALUES ('z', %s, 'test')",
            ("y" * 100_000,),
        )
        cur.execute("ALTER TABLE bronze.dead_letter_queue ENABLE TRIGGER trg_dead_letter_queue_bound_error_message")
    conn.commit()
    setup_db.apply_schema(conn)
    _assert_bounded(conn, scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue"))


def test_list_bounds_every_field_of_an_entry(settings, conn):
    dlq_id = _dead_letter(conn, BROKEN)
    note = "n" * 100_000
    done = run_cli(settings, "ingestion/src/dlq.py", "resolve", "--id", str(dlq_id), "--note", note)
    assert done.returncode == 0
    for args in (["list", "--all"], ["list", "--all", "--json"]):
        listed = run_cli(settings, "ingestion/src/dlq.py", *args)
        assert listed.returncode == 0 and len(listed.stdout) < OUTPUT_BOUND // 10, args
        assert f"dlq.py show --id {dlq_id}" in listed.stdout  # says where the rest is
    shown = run_cli(settings, "ingestion/src/dlq.py", "show", "--id", str(dlq_id))
    assert note in shown.stdout and BROKEN in shown.stdout


def test_a_file_whose_unparseable_text_holds_a_nul_byte_is_dead_lettered_not_a_crash(settings, conn, tmp_path):
    path = tmp_path / "pretty.json"
    path.write_bytes(b'{"id": "700",\n "type": "\x00"}')  # pretty-printed, so parsed whole and rejected
    loaded = run_cli(settings, "ingestion/src/main.py", "--once", "--source", str(path))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    # A pretty-printed value reaches the loader on one line (the break between tokens is a space).
    assert query(conn, "SELECT raw_text FROM bronze.dead_letter_queue") == [('{"id": "700", "type": "\\x00"}',)]


def test_the_same_bad_text_at_the_same_line_is_one_entry_however_often_it_is_loaded(conn):
    chunk = Chunk(data=b'{"id": "1"}\n{broken\n[1, 2]\n')
    first = load_chunk(conn, chunk, "file:x.json")
    again = load_chunk(conn, chunk, "file:x.json")
    assert (first.errors, first.already_in_dlq) == (2, 0)
    assert (again.errors, again.already_in_dlq) == (2, 2)  # still this load's errors, stored once
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue ORDER BY dlq_id") == [
        ("{broken", 2),
        ("[1, 2]", 3),
    ]
    load_chunk(conn, chunk, "file:other.json")  # another source is another entry
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 4


def test_an_undecodable_api_event_seen_by_every_poll_is_one_entry(conn):
    from ghdw.bronze_loader import load_events
    from ghdw.sources.json_split import RawEvent

    poison = RawEvent('{"id": "9", "payload": "\\ud800"}')  # a lone surrogate: jsonb refuses it
    load_events(conn, [make_event("1"), poison])
    report = load_events(conn, [poison, make_event("2"), make_event("1")])  # another place in the page
    assert (report.inserted, report.duplicates, report.errors) == (1, 1, 1)
    assert query(conn, "SELECT source, source_line FROM bronze.dead_letter_queue") == [("api", None)]


def test_upgrade_keeps_older_duplicate_entries_as_closed_evidence(conn):
    with conn.cursor() as cur:
        # Stored by an older loader: one line dead-lettered three times, once per reload.
        cur.execute("DROP SCHEMA ghdw_meta CASCADE")  # a warehouse from before the version table
        cur.execute("DROP INDEX bronze.uq_dead_letter_queue_entry")
        for _ in range(3):
            cur.execute(
                "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source, source_line) "
                "VALUES ('{broken', 'invalid JSON', 'file:a.json', 7), ('oops', 'invalid', 'api', NULL)"
            )
    conn.commit()
    setup_db.apply_schema(conn)
    setup_db.apply_schema(conn)  # a second run changes nothing
    rows = query(
        conn,
        "SELECT dlq_id, raw_text, resolved_at IS NULL, resolution, duplicate_of "
        "FROM bronze.dead_letter_queue ORDER BY dlq_id",
    )
    assert len(rows) == 6  # nothing deleted
    firsts = {text: dlq_id for dlq_id, text, *_ in rows[:2]}
    assert [r[2:] for r in rows[:2]] == [(True, None, None)] * 2
    assert [r[2:] for r in rows[2:]] == [(False, f"duplicate of #{firsts[r[1]]}", firsts[r[1]]) for r in rows[2:]]
    assert load_chunk(conn, Chunk(data=b"\n" * 6 + b"{broken\n"), "file:a.json").already_in_dlq == 1


DEEP_EVENT = '{"id": "deep-1", "payload": ' + "[" * 100_000 + "]" * 100_000 + "}"  # too deep for PostgreSQL


def test_replay_all_leaves_an_entry_too_deep_for_postgresql_open_and_resolves_the_others(conn):
    deep_id = _dead_letter(conn, DEEP_EVENT)
    assert "stack depth" in scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue")
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) "
            "VALUES (%s, 'old bug', 'test') RETURNING dlq_id",
            (json.dumps(make_event("700")),),
        )
        fine_id = cur.fetchone()[0]
    conn.commit()
    result = replay(conn, None)
    assert (result.entries, result.resolved, result.inserted) == (2, 1, 1)
    assert list(result.still_open) == [deep_id] and "stack depth" in result.still_open[deep_id]
    assert [e["dlq_id"] for e in list_entries(conn)] == [deep_id]
    assert scalar(conn, "SELECT resolved_at IS NOT NULL FROM bronze.dead_letter_queue WHERE dlq_id = %s", (fine_id,))
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue WHERE replay_of = %s", (deep_id,)) == 1


def test_replay_check_of_a_text_too_deep_for_postgresql_fails_that_entry_only(conn):
    from ghdw.bronze.dlq import _Attempt, _verify

    load_chunk(conn, Chunk(data=json.dumps(make_event("800")).encode()), "test")
    attempts = [
        _Attempt(1, "", [DEEP_EVENT.encode()], []),
        _Attempt(2, "", [json.dumps(make_event("800")).encode()], []),
    ]
    with conn.cursor() as cur:
        found, unverifiable = _verify(cur, attempts)
    conn.rollback()
    assert found == {2: (1, 1)}
    assert list(unverifiable) == [1] and "stack depth limit exceeded" in unverifiable[1]
