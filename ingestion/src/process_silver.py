"""Silver processor: bronze.raw_events -> silver.events in batches, one transaction each.

Each batch is one call of silver.load_batch() (warehouse/silver/etl/load_silver_batch.sql),
which does the set-based transformation and moves the xid8 watermark in the same
transaction. The loop stops when silver has caught up or a stop was requested.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

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


def run_silver(conn, batch_size: int, should_stop: Callable[[], bool] = lambda: False) -> SilverResult:
    """Process bronze rows until silver is up to date (or a stop is requested between batches).

    conn must be idle (no transaction open): each batch is committed in a transaction of its own,
    with autocommit off for the run. The caller's autocommit setting is as it was on return."""
    previous_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        return _run_batches(conn, batch_size, should_stop)
    finally:
        conn.autocommit = previous_autocommit


def _run_batches(conn, batch_size: int, should_stop: Callable[[], bool]) -> SilverResult:
    result = SilverResult()
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
            if not conn.closed:
                conn.rollback()
            if db.permanent_failure(exc):
                pass  # a missing privilege or schema: the caller's one line and exit code
            elif isinstance(exc, psycopg2.Error):
                # A lost connection, say: one line; the scheduler's next cycle retries.
                log.error(
                    "Silver batch failed and was rolled back (%s); the watermark did not move.", db.first_line(exc)
                )
            else:
                log.exception("Silver batch failed and was rolled back; the watermark did not move.")
            raise
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
                "batch %d: read %d bronze rows, inserted %d (%d rejected), watermark (xid %s, "
                "raw_event_id %s), %.0f ms",
                result.batches,
                rows_read,
                rows_inserted,
                rows_rejected,
                last_xid,
                last_id,
                (time.perf_counter() - started) * 1000,
            )
        if caught_up:
            result.caught_up = True
            log.info("Silver Layer is fully up to date.")
            break
    return result


def main() -> int:
    settings = start_process()
    with db.connection(settings) as conn:
        run_silver(conn, settings.silver_batch_size)
    return 0


if __name__ == "__main__":
    exit_with(main)
