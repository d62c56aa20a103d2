"""Silver processor: bronze.raw_events -> silver.events in batches, one transaction each.

Each batch is one call of silver.load_batch() (warehouse/silver/etl/load_silver_batch.sql),
which does the set-based transformation and moves the xid8 watermark in the same
transaction. The loop stops when silver has caught up or a stop was requested.

With workers > 1 (SILVER_WORKERS) and a backlog of several batches, the backlog is cut into
ranges of a batch each (silver.plan_ranges()) and that many sessions load one range each at a
time (silver.load_range(), a transaction per range); the watermark moves past a range once it and
every range below it are committed (silver.advance_watermark()). A range loaded again after a
failure or a crash loads nothing twice (ON CONFLICT), so the watermark may lag, never skip.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2

from ghdw.core import db
from ghdw.core.lifecycle import exit_with
from ghdw.logger import start_process

log = logging.getLogger("ghdw.SILVER_JOB")
data_log = logging.getLogger("ghdw.SILVER_DATA")


@dataclass
class SilverResult:
    rows_inserted: int = 0
    # Rows stored with a reject_reason: in silver, counted, kept out of gold.
    rows_rejected: int = 0
    batches: int = 0
    caught_up: bool = False


def run_silver(
    conn,
    batch_size: int,
    should_stop: Callable[[], bool] = lambda: False,
    workers: int = 1,
    connect: Callable[[], Any] | None = None,
) -> SilverResult:
    """Process bronze rows until silver is up to date (or a stop is requested between batches).

    conn must be idle (no transaction open): each batch is committed in a transaction of its own,
    with autocommit off for the run. The caller's autocommit setting is as it was on return.
    With workers > 1 and connect (a callable opening a new connection to the same warehouse), a
    backlog of several batches is loaded by that many sessions at once (module docstring)."""
    previous_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        result = SilverResult()
        if workers > 1 and connect is not None:
            _run_ranges(conn, batch_size, should_stop, workers, connect, result)
        if not result.caught_up:
            _run_batches(conn, batch_size, should_stop, result)
        return result
    finally:
        if not conn.closed:
            conn.autocommit = previous_autocommit


def run_silver_configured(conn, settings, should_stop: Callable[[], bool] = lambda: False) -> SilverResult:
    """run_silver() with the settings' SILVER_BATCH_SIZE and SILVER_WORKERS (extra sessions opened
    from the same settings)."""
    return run_silver(
        conn,
        settings.silver_batch_size,
        should_stop,
        workers=settings.silver_workers,
        connect=lambda: db.connect(settings),
    )


def _failed(conn, exc: Exception) -> None:
    """Roll conn back and log why a silver transaction failed, in one line (then the caller raises)."""
    if not conn.closed:
        conn.rollback()
    if db.permanent_failure(exc):
        pass  # a missing privilege or schema: the caller's one line and exit code
    elif isinstance(exc, psycopg2.Error):
        # A lost connection, say: one line; the scheduler's next cycle retries.
        log.error("Silver batch failed and was rolled back (%s); the watermark did not move.", db.first_line(exc))
    else:
        log.exception("Silver batch failed and was rolled back; the watermark did not move.")


def _transaction(conn, statement: str, params: tuple = ()) -> list[tuple]:
    """One statement in a transaction of its own on conn, committed; its rows. On failure conn is
    rolled back and the reason logged in one line (_failed), then the error is raised."""
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            rows = cur.fetchall()
        conn.commit()
    except Exception as exc:
        _failed(conn, exc)
        raise
    return rows


def _saved(result: SilverResult, rows_read: int, rows_inserted: int, rows_rejected: int, where: str, started: float):
    result.batches += 1
    result.rows_inserted += rows_inserted
    result.rows_rejected += rows_rejected
    if rows_read:
        log.info("Saved %d events.", rows_inserted)
        if rows_rejected:
            log.warning(
                "%d of them rejected: kept out of gold, each with its reason in silver.events.reject_reason.",
                rows_rejected,
            )
        data_log.info(
            "batch %d: read %d bronze rows, inserted %d (%d rejected), %s, %.0f ms",
            result.batches,
            rows_read,
            rows_inserted,
            rows_rejected,
            where,
            (time.perf_counter() - started) * 1000,
        )


def _run_batches(conn, batch_size: int, should_stop: Callable[[], bool], result: SilverResult) -> None:
    while not should_stop():
        started = time.perf_counter()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT rows_read, rows_inserted, rows_rejected, caught_up FROM silver.load_batch(%s)",
                    (batch_size,),
                )
                rows_read, rows_inserted, rows_rejected, caught_up = cur.fetchone()
                cur.execute(
                    "SELECT last_xid::TEXT, last_raw_event_id FROM silver.etl_watermark "
                    "WHERE pipeline = 'silver.events'"
                )
                last_xid, last_id = cur.fetchone()
            conn.commit()
        except Exception as exc:
            _failed(conn, exc)
            raise
        _saved(
            result,
            rows_read,
            rows_inserted,
            rows_rejected,
            f"watermark (xid {last_xid}, raw_event_id {last_id})",
            started,
        )
        if caught_up:
            result.caught_up = True
            log.info("Silver Layer is fully up to date.")
            break


RANGES_PER_ROUND = 8  # ranges planned per worker at a time: the plan reads only their keys


def _run_ranges(
    conn,
    batch_size: int,
    should_stop: Callable[[], bool],
    workers: int,
    connect: Callable[[], Any],
    result: SilverResult,
) -> None:
    """Load the backlog range by range on `workers` sessions while it holds two batches or more;
    what is left (one batch at most) is the caller's sequential loop. Only one parallel run at a
    time (silver.run_lock_key(), which silver.load_batch() also takes): another run in progress
    makes this one load batch by batch, after it."""
    [(locked,)] = _transaction(conn, "SELECT pg_try_advisory_lock(silver.run_lock_key())")
    if not locked:
        log.info("Another silver run is loading ranges on this warehouse; loading batch by batch after it.")
        return
    sessions: list = []
    try:
        while not should_stop():
            ranges = _transaction(
                conn,
                "SELECT from_xid::TEXT, from_id, to_xid::TEXT, to_id, rows_planned FROM silver.plan_ranges(%s, %s)",
                (batch_size, workers * RANGES_PER_ROUND),
            )
            if len(ranges) < 2:
                return
            _open_sessions(sessions, min(workers, len(ranges)), connect)
            if not sessions:
                return  # no session to spare: the sequential loop loads the backlog
            _load_ranges(conn, sessions, ranges, should_stop, result)
    finally:
        for session in sessions:
            session.close()
        if not conn.closed:
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(silver.run_lock_key())")
                conn.commit()
            except psycopg2.Error:
                conn.rollback()  # a lost connection released it already


def _open_sessions(sessions: list, wanted: int, connect: Callable[[], Any]) -> None:
    """Open sessions up to `wanted`; one that cannot be opened (the server's max_connections, say) is
    said in one line and the run goes on with those it has (none: the sequential loop)."""
    while len(sessions) < wanted:
        try:
            session = connect()
        except psycopg2.Error as exc:
            log.warning(
                "Could not open a silver session (%s); loading with %d session(s) at a time.",
                db.first_line(exc),
                max(len(sessions), 1),
            )
            return
        session.autocommit = False
        sessions.append(session)


def _load_ranges(conn, sessions: list, ranges: list, should_stop: Callable[[], bool], result: SilverResult) -> None:
    """Each session takes the next range not yet taken; the watermark follows the ranges committed
    without a gap from the first. The first failure stops the others taking more, then is raised."""
    next_range = iter(range(len(ranges)))
    take = threading.Lock()
    abort = threading.Event()
    outcomes: queue.Queue = queue.Queue()

    def work(session) -> None:
        while not abort.is_set() and not should_stop():
            with take:
                index = next(next_range, None)
            if index is None:
                break
            from_xid, from_id, to_xid, to_id, _ = ranges[index]
            started = time.perf_counter()
            try:
                with session.cursor() as cur:
                    cur.execute(
                        "SELECT rows_read, rows_inserted, rows_rejected "
                        "FROM silver.load_range(%s::XID8, %s, %s::XID8, %s)",
                        (from_xid, from_id, to_xid, to_id),
                    )
                    counts = cur.fetchone()
                session.commit()
            except Exception as exc:
                abort.set()
                if not session.closed:
                    session.rollback()
                log.error(
                    "Silver range (xid %s, %s) .. (xid %s, %s) failed and was rolled back (%s); the "
                    "watermark stays before it, the next run loads it again.",
                    from_xid,
                    from_id,
                    to_xid,
                    to_id,
                    db.first_line(exc),
                )
                outcomes.put((index, exc, started))
                break
            outcomes.put((index, counts, started))
        outcomes.put(None)  # this session is done

    threads = [threading.Thread(target=work, args=(session,), daemon=True) for session in sessions]
    for thread in threads:
        thread.start()
    committed: set[int] = set()
    passed = 0  # ranges below this index are committed and behind the watermark
    failure: Exception | None = None
    running = len(threads)
    while running:
        outcome = outcomes.get()
        if outcome is None:
            running -= 1
            continue
        index, counts, started = outcome
        if isinstance(counts, Exception):
            failure = failure or counts
            continue
        committed.add(index)
        from_xid, from_id, to_xid, to_id, _ = ranges[index]
        rows_read, rows_inserted, rows_rejected = counts
        where = f"range (xid {from_xid}, {from_id}) .. (xid {to_xid}, {to_id})"
        _saved(result, rows_read, rows_inserted, rows_rejected, where, started)
        first_gap = passed
        while first_gap in committed:
            first_gap += 1
        if first_gap > passed and not conn.closed:
            passed = first_gap
            _, _, last_xid, last_id, _ = ranges[passed - 1]
            try:
                _transaction(conn, "SELECT silver.advance_watermark(%s::XID8, %s)", (last_xid, last_id))
            except Exception as exc:
                abort.set()
                failure = failure or exc
    for thread in threads:
        thread.join()
    if failure is not None:
        raise failure


def main() -> int:
    settings = start_process()
    with db.connection(settings) as conn:
        run_silver_configured(conn, settings)
    return 0


if __name__ == "__main__":
    exit_with(main)
