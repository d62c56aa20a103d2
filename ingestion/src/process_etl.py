"""Silver + Gold scheduler: runs the silver processor, then the gold ETL, on a schedule.

    python ingestion/src/process_etl.py          run now, then on the schedule, until stopped
    python ingestion/src/process_etl.py --once   run one cycle and exit (non-zero on failure)

ETL_MODE=demo runs every DEMO_INTERVAL_SECONDS (120); ETL_MODE=production runs daily at
PRODUCTION_TIME (02:00). A session advisory lock makes sure only one scheduler runs a cycle
at a time against a warehouse: a second one logs that and skips. SIGINT / SIGTERM let the
current silver batch finish, cancel a running gold transaction (it rolls back), then stop; a
second signal stops at once. Gold gives up on a lock held elsewhere after
GOLD_LOCK_TIMEOUT_SECONDS, says who held it, and leaves the work to the next cycle.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from datetime import datetime

import psycopg2
import schedule

from ghdw.config import Settings
from ghdw.core import db, lifecycle
from ghdw.core.lifecycle import exit_with
from ghdw.core.locks import ETL_LOCK_KEY
from ghdw.core.redaction import redact
from ghdw.logger import start_process
from ghdw.process_gold import GoldEtlError, GoldRetryLater, GoldStopped, run_gold
from ghdw.process_silver import run_silver_configured

log = logging.getLogger("ghdw.SILVER_GOLD_ETL_SCHEDULER")

SCHEDULER_TICK_SECONDS = 1.0  # how often the loop checks for due jobs and stop requests


class EtlScheduler:
    def __init__(self, settings: Settings, stop: threading.Event | None = None):
        self.settings = settings
        self.stop_requested = stop or threading.Event()
        self.runs = 0
        self.exit_code = lifecycle.EXIT_OK

    def request_stop(self, name: str = "stop") -> None:
        if not self.stop_requested.is_set():
            log.info(
                "%s received: finishing the current silver batch or cancelling gold (rolled back), "
                "then stopping (again to stop at once).",
                name,
            )
        self.stop_requested.set()

    def run_cycle(self) -> bool:
        """One silver + gold cycle. Returns False when a step failed."""
        with db.connection(self.settings, stop=self.stop_requested) as lock_conn:
            lock_conn.autocommit = True
            with lock_conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (ETL_LOCK_KEY,))
                if not cur.fetchone()[0]:
                    log.warning("Another scheduler is running an ETL cycle on this warehouse; skipping this run.")
                    return True
            try:
                # The lock's connection is idle meanwhile: gold uses it to name a session it waits for.
                return self._run_steps(lock_conn)
            finally:
                with lock_conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (ETL_LOCK_KEY,))

    def _run_steps(self, monitor_conn=None) -> bool:
        self.runs += 1
        started = time.perf_counter()
        log.info("ETL RUN #%d - %s", self.runs, datetime.now().strftime("%H:%M:%S"))
        with db.connection(self.settings, stop=self.stop_requested) as conn:
            log.info("[1/2] Silver Layer...")
            step = time.perf_counter()
            try:
                run_silver_configured(conn, self.settings, self.stop_requested.is_set)
            except Exception as exc:
                if db.permanent_failure(exc, self.settings):
                    raise  # no cycle can get past it: the caller ends with its one line and code
                log.error("RUN #%d FAILED in the silver step.", self.runs)
                return False
            log.info("Silver: Completed in %.2fs", time.perf_counter() - step)
            if self.stop_requested.is_set():
                log.info("RUN #%d stopped after the silver step.", self.runs)
                return True
            log.info("[2/2] Gold Layer...")
            step = time.perf_counter()
            try:
                run_gold(
                    conn,
                    self.settings.gold_lock_timeout_seconds,
                    self.settings.gold_statement_timeout_seconds,
                    stop=self.stop_requested,
                    monitor_conn=monitor_conn,
                )
            except GoldStopped:
                log.info("RUN #%d stopped during the gold step (rolled back).", self.runs)
                return True
            except GoldRetryLater:
                return False  # its one line is logged; the next cycle retries
            except GoldEtlError:
                log.error("RUN #%d FAILED in the gold step.", self.runs)
                return False
            log.info("Gold: Completed in %.2fs", time.perf_counter() - step)
        log.info("RUN #%d COMPLETE | Total Duration: %.2fs", self.runs, time.perf_counter() - started)
        return True

    def _scheduled_job(self) -> None:
        try:
            self.run_cycle()
        except lifecycle.Stopped:
            pass  # stopped while waiting for the database: run_forever's loop ends next
        except psycopg2.Error as exc:
            failure = db.classify_failure(exc, self.settings)
            if failure is not None and db.permanent_failure(exc, self.settings):
                # A wrong password, a missing database, schema or privilege: no later cycle can
                # get past it. End with its one line and exit code (compose's restart: on-failure).
                self.exit_code, text = failure
                log.error("%s", redact(text))
                log.info("Scheduler stopping: retrying cannot cure this (exit code %d).", self.exit_code)
                self.stop_requested.set()
                return
            # A database outage must not kill the scheduler: one line, the next run retries.
            reason = failure[1] if failure is not None else db.first_line(exc)
            log.error("ETL cycle failed: %s; the next scheduled run will retry.", redact(reason))
        except Exception:
            # Not the database's answer: a bug, whose traceback is the useful report.
            log.exception("ETL cycle failed; the next scheduled run will retry.")

    def run_forever(self) -> int:
        """Run cycles on the schedule until stopped; returns the exit code (0, or 2/3 for an error
        no retry can cure)."""
        if self.settings.etl_mode == "production":
            schedule.every().day.at(self.settings.production_time).do(self._scheduled_job)
            log.info("Production mode: ETL runs daily at %s.", self.settings.production_time)
        else:
            schedule.every(self.settings.demo_interval_seconds).seconds.do(self._scheduled_job)
            log.info("Demo mode: ETL runs every %d seconds.", self.settings.demo_interval_seconds)
        self._scheduled_job()
        while not self.stop_requested.is_set():
            schedule.run_pending()
            self.stop_requested.wait(SCHEDULER_TICK_SECONDS)
        schedule.clear()
        log.info("Scheduler stopped.")
        return self.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="run one silver + gold cycle and exit")
    args = parser.parse_args(argv)
    settings = start_process()
    scheduler = EtlScheduler(settings, stop=lifecycle.STOP)
    lifecycle.install_stop_handlers(scheduler.stop_requested, scheduler.request_stop)
    log.info("ETL scheduler using %s.", db.describe(settings))
    if args.once:
        return 0 if scheduler.run_cycle() else 1
    return scheduler.run_forever()


if __name__ == "__main__":
    exit_with(main)
