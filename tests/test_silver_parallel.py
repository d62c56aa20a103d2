"""Parallel silver (SILVER_WORKERS > 1): the backlog cut into ranges, several sessions loading a
range each; what it loads equals one session's load, and no failure or stop loses or doubles a row."""

from __future__ import annotations

import json

import pytest
from conftest import legacy_data_file, make_event, query, scalar

from ghdw.bronze_loader import load_events
from ghdw.core import db
from ghdw.process_silver import run_silver

BATCH = 7

SILVER_ROWS = """SELECT event_id, event_type, actor_id, actor_login, repo_id, repo_name, org_login, is_public,
                          created_at_raw, event_time, reject_reason, sentinel_reason, event_format
                     FROM silver.events ORDER BY event_id"""
PAYLOAD_ROWS = "SELECT to_jsonb(p) - 'processed_at' FROM silver.event_payloads AS p ORDER BY event_id"
WATERMARK = "SELECT last_xid::TEXT, last_raw_event_id FROM silver.etl_watermark WHERE pipeline = 'silver.events'"
LAST_BRONZE_KEY = (
    "SELECT ingest_xid::TEXT, raw_event_id FROM bronze.raw_events ORDER BY ingest_xid DESC, raw_event_id DESC LIMIT 1"
)


def mixed_events() -> list[list[dict]]:
    """Modern, legacy and rejected events, in several bronze transactions (several ingest xids)."""
    legacy = [json.loads(line) for line in legacy_data_file().read_text().splitlines()[:40]]
    modern = [
        make_event(str(i), event_type=t, payload=p)
        for i, (t, p) in enumerate(
            [("WatchEvent", {"action": "started"}), ("PushEvent", {"size": 3, "ref": "refs/heads/main"})] * 15
            + [("IssuesEvent", {"action": "opened", "issue": {"number": 4}})] * 5,
            start=1,
        )
    ]
    rejected = [make_event("bad-time", created_at="2015-13-45"), make_event("no-time", created_at=None)]
    return [modern[:20], legacy[:25], modern[20:] + rejected, legacy[25:]]


def load_bronze(conn, chunks) -> None:
    for chunk in chunks:
        load_events(conn, chunk)


def connector(settings):
    return lambda: db.connect(settings)


@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_silver_loads_exactly_what_one_session_loads(conn, settings, second_conn, workers):
    chunks = mixed_events()
    load_bronze(conn, chunks)
    load_bronze(second_conn, chunks)
    parallel = run_silver(conn, BATCH, workers=workers, connect=connector(settings))
    single = run_silver(second_conn, BATCH)
    assert parallel.caught_up and single.caught_up
    assert (parallel.rows_inserted, parallel.rows_rejected) == (single.rows_inserted, single.rows_rejected)
    assert parallel.rows_inserted == scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == sum(map(len, chunks))
    assert query(conn, SILVER_ROWS) == query(second_conn, SILVER_ROWS)
    assert query(conn, PAYLOAD_ROWS) == query(second_conn, PAYLOAD_ROWS)
    assert query(conn, WATERMARK) == query(conn, LAST_BRONZE_KEY)
    assert parallel.batches > 2  # it did run in ranges
    # A second run finds nothing to do.
    again = run_silver(conn, BATCH, workers=workers, connect=connector(settings))
    assert (again.rows_inserted, again.caught_up) == (0, True)


def test_a_failing_range_keeps_the_watermark_before_it_and_the_next_run_completes_without_duplicates(
    conn, settings, second_conn
):
    chunks = mixed_events()
    load_bronze(conn, chunks)
    load_bronze(second_conn, chunks)
    # One event in the middle of the backlog fails its range (as a lost connection would).
    poisoned = query(
        conn, "SELECT event_id FROM bronze.raw_events ORDER BY ingest_xid, raw_event_id OFFSET 50 LIMIT 1"
    )[0][0]
    with conn.cursor() as cur:
        cur.execute(
            """CREATE FUNCTION silver.fail_one() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.event_id = %s THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;
               CREATE TRIGGER trg_fail_one BEFORE INSERT ON silver.events
               FOR EACH ROW EXECUTE FUNCTION silver.fail_one();""",
            (poisoned,),
        )
    conn.commit()
    with pytest.raises(Exception, match="injected failure"):
        run_silver(conn, BATCH, workers=3, connect=connector(settings))
    assert scalar(conn, "SELECT COUNT(*) FROM silver.events WHERE event_id = %s", (poisoned,)) == 0
    # Nothing at or past the failed event is behind the watermark (ranges after it may be loaded).
    poisoned_key_after_watermark = scalar(
        conn,
        """SELECT (b.ingest_xid, b.raw_event_id) > (w.last_xid, w.last_raw_event_id)
             FROM bronze.raw_events AS b, silver.etl_watermark AS w
            WHERE b.event_id = %s AND w.pipeline = 'silver.events'""",
        (poisoned,),
    )
    assert poisoned_key_after_watermark is True
    with conn.cursor() as cur:
        cur.execute("DROP TRIGGER trg_fail_one ON silver.events")
    conn.commit()
    run_silver(conn, BATCH, workers=3, connect=connector(settings))
    run_silver(second_conn, BATCH)
    assert query(conn, SILVER_ROWS) == query(second_conn, SILVER_ROWS)  # every event once
    assert query(conn, PAYLOAD_ROWS) == query(second_conn, PAYLOAD_ROWS)
    assert query(conn, WATERMARK) == query(conn, LAST_BRONZE_KEY)


def test_a_stop_between_ranges_leaves_a_state_the_next_run_completes(conn, settings, second_conn):
    chunks = mixed_events()
    load_bronze(conn, chunks)
    load_bronze(second_conn, chunks)
    asked = []

    def stop_after_a_few() -> bool:
        asked.append(1)
        return len(asked) > 4

    stopped = run_silver(conn, BATCH, stop_after_a_few, workers=2, connect=connector(settings))
    assert not stopped.caught_up
    assert 0 < scalar(conn, "SELECT COUNT(*) FROM silver.events") < sum(map(len, chunks))
    run_silver(conn, BATCH, workers=2, connect=connector(settings))
    run_silver(second_conn, BATCH)
    assert query(conn, SILVER_ROWS) == query(second_conn, SILVER_ROWS)
    assert query(conn, WATERMARK) == query(conn, LAST_BRONZE_KEY)


def test_a_backlog_of_one_batch_is_loaded_by_one_session(conn, settings):
    load_events(conn, [make_event(str(i)) for i in range(1, 6)])
    opened = []

    def connect():
        opened.append(1)
        return db.connect(settings)

    result = run_silver(conn, BATCH, workers=4, connect=connect)
    assert (result.rows_inserted, result.caught_up, opened) == (5, True, [])


def test_planning_and_reading_a_small_backlog_never_scans_all_of_bronze(conn, settings):
    # 30,000 bronze rows already in silver, then 20 new ones: planning ranges and reading the
    # batch go through the (ingest_xid, raw_event_id) index from the watermark, so a cycle's cost
    # follows the new rows, not the size of bronze.
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO bronze.raw_events (event_id, raw_data, source)
               SELECT g::TEXT, jsonb_build_object('id', g::TEXT, 'type', 'WatchEvent'), 'bulk'
                 FROM generate_series(1, 30000) AS g"""
        )
    conn.commit()
    run_silver(conn, 10_000, workers=2, connect=connector(settings))
    load_events(conn, [make_event(str(i)) for i in range(100_001, 100_021)])
    with conn.cursor() as cur:
        cur.execute("ANALYZE bronze.raw_events")
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM silver.plan_ranges(5, 100)")
        assert cur.fetchone()[0] == 4
        cur.execute("SELECT * FROM silver.load_batch(5000)")
        cur.execute(
            "SELECT seq_scan, idx_scan > 0 FROM pg_stat_xact_user_tables WHERE relid = 'bronze.raw_events'::REGCLASS"
        )
        assert cur.fetchone() == (0, True)
    conn.rollback()


def test_two_parallel_runs_at_once_load_everything_once_without_deadlock(conn, settings, second_conn):
    import threading

    chunks = mixed_events()
    load_bronze(conn, chunks)
    load_bronze(second_conn, chunks)
    errors = []

    def one_run():
        own = db.connect(settings)
        try:
            run_silver(own, 3, workers=2, connect=connector(settings))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.close()

    runs = [threading.Thread(target=one_run) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert errors == []
    run_silver(second_conn, 3)
    assert query(conn, SILVER_ROWS) == query(second_conn, SILVER_ROWS)
    assert query(conn, WATERMARK) == query(conn, LAST_BRONZE_KEY)


def test_a_session_that_cannot_be_opened_leaves_the_run_to_the_sessions_it_has(conn, settings, caplog):
    import psycopg2

    load_bronze(conn, mixed_events())

    def no_more_sessions():
        raise psycopg2.OperationalError("FATAL:  sorry, too many clients already")

    result = run_silver(conn, BATCH, workers=3, connect=no_more_sessions)
    assert result.caught_up and result.rows_inserted == scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events")
    assert "Could not open a silver session (sorry, too many clients already)" in caplog.text


def test_the_run_lock_key_is_the_same_in_python_and_sql(conn):
    from ghdw.core.locks import SILVER_RUN_LOCK_KEY

    assert scalar(conn, "SELECT silver.run_lock_key()") == SILVER_RUN_LOCK_KEY
