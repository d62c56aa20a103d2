"""Bronze: dedup by event id, bad rows isolated to the DLQ, \\u0000 repaired, nothing lost."""

import json

from conftest import make_event, query, scalar

from ghdw.bronze_loader import FAST_LOAD, LINES_LOAD_SQL, load_chunk, load_events
from ghdw.sources.event_files import Chunk


def test_loader_inserts_a_batch_and_reports_counts(conn):
    report = load_events(conn, [make_event(str(i)) for i in range(5)])
    assert (report.inserted, report.duplicates, report.errors) == (5, 0, 0)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 5
    assert report.summary() == "5 Inserted | 0 Duplicates | 0 Errors"


def test_loader_dedups_by_event_id_across_and_within_batches(conn):
    load_events(conn, [make_event("1"), make_event("2")])
    report = load_events(conn, [make_event("2"), make_event("3"), make_event("3")])
    assert (report.inserted, report.duplicates, report.errors) == (1, 2, 0)
    assert [r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events ORDER BY event_id")] == ["1", "2", "3"]


def test_bad_row_is_isolated_into_dlq_while_rest_of_batch_commits(conn):
    # A lone UTF-16 surrogate is valid to Python's json but jsonb rejects it.
    bad = make_event("66", login="broken\ud800login")
    report = load_events(conn, [make_event("65"), bad, make_event("67")])
    assert (report.inserted, report.duplicates, report.errors) == (2, 0, 1)
    assert [r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events ORDER BY 1")] == ["65", "67"]
    raw_text, error, source = query(conn, "SELECT raw_text, error_message, source FROM bronze.dead_letter_queue")[0]
    assert json.loads(raw_text)["id"] == "66"
    assert "\\ud800" in raw_text  # the text exactly as it was sent
    assert "invalid JSON" in error and "surrogate" in error.lower()
    assert source == "api"  # load_events' default: the listener's batches


def test_fast_statement_fails_on_bad_json_so_fallback_is_real(conn):
    """The set-based fast path really does fail on such a row; the fallback is what isolates it."""
    import psycopg2
    import pytest

    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bronze_staging (line_no BIGINT GENERATED ALWAYS AS "
            "IDENTITY, line TEXT) ON COMMIT DELETE ROWS"
        )
        cur.execute("INSERT INTO bronze_staging (line) VALUES (%s)", ('{"id":"1","x":"\\ud800"}',))
        with pytest.raises(psycopg2.Error):
            cur.execute(
                LINES_LOAD_SQL, {"source": "t", "first_line": 1, "line_step": 1, "line_numbers": None, **FAST_LOAD}
            )
    conn.rollback()


def test_event_with_nul_escape_is_repaired_and_loaded_with_original_kept(conn):
    line = (
        '{"id":"77","type":"PushEvent","actor":{"id":1,"login":"a\\u0000b"},"repo":{"id":2,"name":"o/r"},'
        '"created_at":"2024-01-01T00:00:00Z","payload":{"msg":"x\\\\u0000y"}}'
    )
    report = load_chunk(conn, Chunk(data=line.encode()), "test")
    assert (report.inserted, report.errors, report.repaired) == (1, 0, 1)
    login, escaped_text, is_repaired, original = query(
        conn,
        """
        SELECT raw_data->'actor'->>'login', raw_data->'payload'->>'msg', is_repaired, original_text
        FROM bronze.raw_events WHERE event_id = '77'""",
    )[0]
    assert login == "a\ufffdb"
    assert escaped_text == "x\\u0000y"  # an escaped backslash followed by 'u0000' is not a NUL: untouched
    assert is_repaired is True
    assert original == line


def test_unparseable_line_goes_to_dlq_with_line_number(conn):
    data = b'{"id":"1","type":"PushEvent"}\n{"id": "2", truncated\n\n[1,2]\n{"no_id":true}\n{"id":"3"}\n'
    report = load_chunk(conn, Chunk(data=data, first_line=100), "file:x.json")
    assert (report.inserted, report.errors) == (2, 3)
    rows = query(conn, "SELECT source_line, error_message FROM bronze.dead_letter_queue ORDER BY source_line")
    assert [r[0] for r in rows] == [101, 103, 104]
    assert rows[0][1].startswith("invalid JSON")
    assert "expected an object" in rows[1][1]
    assert 'no "id"' in rows[2][1]


def test_invalid_utf8_line_goes_to_dlq_and_rest_loads(conn):
    data = b'{"id":"1"}\n{"id":"2","x":"\xff\xfe"}\n{"id":"3"}\n'
    report = load_chunk(conn, Chunk(data=data), "file:bad.json")
    assert (report.inserted, report.errors) == (2, 1)
    raw, error, line = query(conn, "SELECT raw_text, error_message, source_line FROM bronze.dead_letter_queue")[0]
    assert line == 2 and "\\xff\\xfe" in raw and "unreadable" in error


def test_row_by_row_fallback_isolates_a_row_the_set_based_paths_cannot(conn):
    # A CHECK that only some rows violate makes both set-based statements fail:
    # the per-row SAVEPOINT fallback must keep the good rows.
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE bronze.raw_events ADD CONSTRAINT chk_test_no_bad CHECK (event_id <> 'bad')")
    conn.commit()
    report = load_events(conn, [make_event("a"), make_event("bad"), make_event("c")])
    assert (report.inserted, report.errors) == (2, 1)
    assert "chk_test_no_bad" in scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue")


def test_bronze_is_append_only(conn):
    import psycopg2
    import pytest

    load_events(conn, [make_event("1")])
    with pytest.raises(psycopg2.Error, match="append-only"):
        with conn.cursor() as cur:
            cur.execute("DELETE FROM bronze.raw_events")
    conn.rollback()


def test_clean_batch_takes_the_copy_fast_path_and_a_bad_one_falls_back(conn, caplog):
    """Step 0 (COPY into jsonb + one INSERT) loads a clean batch; a line that is not an event
    object fails it as a whole, and the careful path dead-letters exactly that line."""
    caplog.set_level("INFO", logger="ghdw.BRONZE_LOADER")
    clean = load_events(conn, [make_event("1"), make_event("2"), make_event("1")])
    assert (clean.lines, clean.inserted, clean.duplicates, clean.errors) == (3, 2, 1, 0)
    assert "Fast load refused" not in caplog.text
    data = b'{"id": "3", "type": "PushEvent"}\n[1, 2]\n{"type": "NoId"}\n{"id": ""}\n{"id": 4, "type": "WatchEvent"}'
    report = load_chunk(conn, Chunk(data=data), "test")
    assert "Fast load refused" in caplog.text
    assert (report.inserted, report.errors) == (2, 3)
    assert [r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events ORDER BY 1")] == ["1", "2", "3", "4"]
    assert [r[0] for r in query(conn, "SELECT source_line FROM bronze.dead_letter_queue ORDER BY 1")] == [2, 3, 4]


def test_batch_with_a_nul_escape_skips_the_fast_attempt_and_is_repaired(conn, caplog):
    caplog.set_level("INFO", logger="ghdw.BRONZE_LOADER")
    data = b'{"id": "5", "type": "PushEvent", "payload": {"m": "a\\u0000b"}}\n{"id": "6", "type": "PushEvent"}'
    report = load_chunk(conn, Chunk(data=data), "test")
    assert (report.inserted, report.repaired, report.errors) == (2, 1, 0)
    assert "Fast load refused" not in caplog.text
