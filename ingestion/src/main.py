"""Bronze orchestrator: the continuous listener on GitHub's events API, or a file load.

    python ingestion/src/main.py                        poll GitHub every POLL_INTERVAL_SECONDS, until stopped
    python ingestion/src/main.py --once                 poll once, load, exit
    python ingestion/src/main.py --once --source PATH   load events from files into bronze, then exit

PATH may be a file (JSON array, JSON lines, a single event object, or gzip of any of these),
a zip of such files (each member its own source, file:archive.zip/member.json), or a directory
(every *.json / *.json.gz / *.jsonl / *.zip in it). Other binary containers (tar, bzip2, xz,
7z, ...) are refused with one line, before anything is loaded (exit 2). Unreadable lines go to the
dead-letter queue; the exit status is 0 when every file was read to its end. A first SIGTERM or
Ctrl-C lets the current chunk commit, then stops with exit status 1 (a rerun finishes the load;
the dedup makes it exact); a second one stops at once. `--once` without --source exits 1 when
its poll failed.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import psycopg2

from ghdw.api_client import AuthenticationError, GitHubClient, PollInterrupted, PollResult, event_id_of
from ghdw.bronze.file_loads import SerialLoader, file_load_targets, load_target
from ghdw.bronze_loader import LoadReport, load_events
from ghdw.core import db, lifecycle
from ghdw.core.lifecycle import exit_with
from ghdw.core.redaction import redact
from ghdw.core.sqlfiles import load_sql
from ghdw.logger import start_process
from ghdw.sources.event_files import (
    INPUT_PATTERNS,
    Source,
    UnsupportedInput,
    expand_inputs,
    file_sources,
)

log = logging.getLogger("ghdw.ORCHESTRATOR")

RECENT_IDS_KEPT = 5_000  # ids remembered to detect overlap: 300 per poll, with room to spare
DB_RETRY_MAX_SECONDS = 30  # cap of the reconnect backoff while PostgreSQL is away
# A poll's writes are at most 300 events and take milliseconds; one still running after this is
# stuck behind a lock, and a stop must not wait longer than this for it (it then rolls back).
LISTENER_STATEMENT_TIMEOUT_SECONDS = 30
API_SOURCE = "api"
# The newest ids the listener stored, of every poll or of complete polls only, newest first.
RECENT_IDS_SQL = load_sql("bronze/listener/recent_event_ids.sql")
RECORD_POLL_SQL = load_sql("bronze/listener/record_poll.sql")


class LoadStopped(Exception):
    """A stop request ended a file load between chunks; what was loaded has committed."""

    def __init__(self, total: LoadReport, message: str):
        super().__init__(message)
        self.total = total


def load_files(
    conn, files: list[Path] | list[Source], stop: threading.Event | None = None
) -> tuple[LoadReport, list[str]]:
    """Load each file (or Source: a file, or a member of a zip), one after another on `conn`,
    without the backfill ledger: the one file path of ghdw.bronze.file_loads, which backfill uses
    with its ledger and BACKFILL_WORKERS connections. Returns the total report and the sources
    that were damaged. A stop request (`stop`) ends the load after the current chunk has
    committed: LoadStopped says how far it got."""
    total, damaged = LoadReport(), []
    loader = SerialLoader(conn)
    targets = [target for item in files for target in file_load_targets(item)]
    for index, target in enumerate(targets):
        if stop is not None and stop.is_set():  # between two files
            raise LoadStopped(total, f"Stopped before {target.name}: {len(targets) - index} file(s) not loaded.")
        started = time.perf_counter()
        status, report, error = load_target(conn, target, loader, ledger=False, stop=stop)
        total += report
        if status == "stopped":
            raise LoadStopped(
                total,
                f"Stopped: {target.name} {error}, committed; it and {len(targets) - index - 1} file(s) "
                f"after it are not loaded to the end.",
            )
        if status != "completed":
            damaged.append(f"{target.name}: {error}")
        shown = target.source.removeprefix("file:")
        log.info(
            "%s %s: %s (%d repaired) in %.2fs",
            "Loaded" if status == "completed" else status.capitalize(),
            shown,
            report.summary(),
            report.repaired,
            time.perf_counter() - started,
        )
    return total, damaged


class Listener:
    """Poll, load with the bronze loader, record the poll, sleep the rest of the interval."""

    def __init__(self, settings, client: GitHubClient, stop: threading.Event | None = None, sleep=None):
        self.settings = settings
        self.client = client
        self.stop = stop or threading.Event()
        self.sleep = sleep or self.stop.wait
        self.conn = None
        # Ids of events stored by complete polls (the overlap that ends paging), and by any poll
        # (reaching one shows nothing was missed above it). Durable: bronze.poll_log.event_ids.
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.stored: OrderedDict[str, None] = OrderedDict()
        # Whether bronze holds any event: only a poll of an empty warehouse has nothing to overlap.
        self.bronze_has_events = False
        self.polls = 0

    # -- database, surviving restarts ----------------------------------------------------------
    def connect(self, wait_for_server: bool = False):
        """A connection with the listener's statement timeout. wait_for_server: wait for the server
        up to DB_WAIT_SECONDS (at start-up); otherwise one attempt."""
        options = {"options": f"-c statement_timeout={LISTENER_STATEMENT_TIMEOUT_SECONDS * 1000}"}
        if wait_for_server:
            return db.connect_when_ready(self.settings, stop=self.stop, **options)
        return db.connect(self.settings, connect_timeout=db.CONNECT_ATTEMPT_TIMEOUT_SECONDS, **options)

    def _backoff(self, seconds: float) -> None:
        """Wait before the next database attempt; a stop request ends the wait (and the attempts)."""
        if not self.stop.is_set():
            self.sleep(seconds)
        if self.stop.is_set():
            raise lifecycle.Stopped()

    def _connection(self):
        attempt = 0
        while self.conn is None or self.conn.closed:
            try:
                self.conn = self.connect()
            except psycopg2.OperationalError as exc:
                if not db.is_transient_connect_error(exc):
                    raise  # a wrong password, role or database: waiting will not fix it
                attempt += 1
                wait = lifecycle.backoff_seconds(attempt, DB_RETRY_MAX_SECONDS)
                log.warning(
                    "waiting for the database at %s (attempt %d)... %s; next try in %.1f s.",
                    db.server_address(self.settings),
                    attempt,
                    db.first_line(exc),
                    wait,
                )
                self._backoff(wait)
        return self.conn

    def _with_database(self, work):
        """Run work(conn), reconnecting and retrying for as long as the connection is what failed.

        A lost connection shows up as OperationalError, InterfaceError or a bare DatabaseError
        ("server closed the connection unexpectedly" on a socket that died while idle), so the
        exception's class cannot tell: the connection is probed instead. An error on a healthy
        connection (bad data, a constraint, a bug) is rolled back and raised, never retried forever.
        A stop request during the backoff raises lifecycle.Stopped: the stop is not held up.
        """
        attempt = 0
        while True:
            conn = self._connection()
            try:
                return work(conn)
            except psycopg2.Error as exc:
                if not self._connection_lost(conn):
                    raise
                attempt += 1
                try:
                    conn.close()
                except psycopg2.Error:
                    pass  # it is already gone: closing only frees the client side
                self.conn = None
                wait = lifecycle.backoff_seconds(attempt, DB_RETRY_MAX_SECONDS)
                log.warning(
                    "Lost the database connection (%s); retrying in %.1fs, fetched events kept in memory.",
                    lifecycle.first_line(exc),
                    wait,
                )
                self._backoff(wait)

    @staticmethod
    def _connection_lost(conn) -> bool:
        """After an error: True if the connection is unusable, False once it is rolled back and answers."""
        if conn.closed:
            return True
        try:
            conn.rollback()
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.rollback()
        except psycopg2.Error:
            return True
        return False

    def _remember(self, event_ids: list[str], complete: bool) -> None:
        for ids in (self.recent, self.stored) if complete else (self.stored,):
            for event_id in event_ids:
                ids[event_id] = None
                ids.move_to_end(event_id)
            while len(ids) > RECENT_IDS_KEPT:
                ids.popitem(last=False)

    def _load_recent_ids(self, conn) -> None:
        """After a restart, the overlap is what it would be without one: read from the poll log, never
        from bronze, where a failed poll's events would end paging above the hole below them."""
        with conn.cursor() as cur:
            for complete_only in (True, False):  # all polls last: `stored` keeps their order
                cur.execute(RECENT_IDS_SQL, {"complete_only": complete_only, "kept": RECENT_IDS_KEPT})
                self._remember([r[0] for r in reversed(cur.fetchall())], complete_only)
            cur.execute("SELECT EXISTS (SELECT event_id FROM bronze.raw_events)")
            self.bronze_has_events = cur.fetchone()[0]
        conn.rollback()

    # -- one poll ------------------------------------------------------------------------------
    def poll_once(self) -> PollResult:
        started = time.perf_counter()
        if self.polls == 0:
            self._with_database(self._load_recent_ids)
        self.polls += 1
        # self.recent holds only events stored by polls that paged down to an overlap (or to the end
        # of what GitHub shows): a failed poll's events are stored but may sit above a hole, so the
        # next poll pages through them (the loader skips them as duplicates) down to a real overlap.
        # A gap is suspected when a poll does not reach a complete poll's events. Until a poll has
        # completed, reaching the events of the incomplete ones is enough (each flagged the hole below
        # it). A listener that has stored nothing has an overlap to reach only if bronze holds events
        # (files, a backfill): the first poll of an empty warehouse has none. Events loaded from files
        # never count as an overlap: the file says nothing of what happened between it and the window.
        if self.recent:
            expect_overlap, stored = True, None
        else:
            expect_overlap = bool(self.stored) or self.bronze_has_events
            stored = (lambda event_id: event_id in self.stored) if self.stored else None
        result = self.client.poll(lambda event_id: event_id in self.recent, expect_overlap, stored)
        # bronze.poll_log is readable by BI through gold.v_pipeline_health: never store a secret there.
        error = redact(str(result.error)) if result.error is not None else None
        complete = result.error is None
        event_ids = [event_id for event_id in map(event_id_of, result.events) if event_id is not None]
        try:
            report = self._with_database(lambda conn: self._store(conn, result, started, error, event_ids, complete))
        except lifecycle.Stopped:
            if result.events:
                log.warning(
                    "Stopping with the database unreachable: the %d fetched events were not stored "
                    "(GitHub shows them to the next poll while they are among its latest 300).",
                    len(result.events),
                )
            raise
        except psycopg2.Error as exc:
            if db.permanent_failure(exc, self.settings):
                # A missing privilege or schema: no later poll can store anything either. The
                # command ends with its one line and exit code; a restart polls these events again.
                raise
            # Not a lost connection (those are retried above): reported, and this poll's state
            # does not move, so the next poll fetches these events again while GitHub shows them.
            error = f"load failed: {lifecycle.first_line(exc)}"
            log.exception(
                "Could not store the %d fetched events; the next poll fetches them again.", len(result.events)
            )
            try:
                self._with_database(lambda conn: self._record(conn, result, LoadReport(), started, error))
            except psycopg2.Error:
                # Not a lost connection either: reported, and the listener keeps polling without this row.
                log.exception("Could not write this poll to bronze.poll_log.")
        else:
            self._remember(event_ids, complete)
            self.bronze_has_events = self.bronze_has_events or report.inserted + report.duplicates > 0
            if complete:
                self.client.trust_etags(result.etags)
        if isinstance(result.error, AuthenticationError):
            raise result.error  # a configuration error no poll can get past, now that its events are kept
        return result

    def _store(
        self, conn, result: PollResult, started: float, error: str | None, event_ids: list[str], complete: bool
    ) -> LoadReport:
        """Load the poll's events and record the poll (with its overlap) in one transaction."""
        report = load_events(conn, result.events, API_SOURCE, commit=False) if result.events else LoadReport()
        self._record(conn, result, report, started, error, event_ids, complete)
        return report

    def _record(
        self,
        conn,
        result: PollResult,
        report: LoadReport,
        started: float,
        error: str | None,
        event_ids: list[str] | None = None,
        complete: bool = False,
    ):
        duration_ms = int((time.perf_counter() - started) * 1000)
        with conn.cursor() as cur:
            cur.execute(
                RECORD_POLL_SQL,
                (
                    result.pages,
                    result.fetched,
                    len(result.events),
                    report.inserted,
                    report.duplicates,
                    report.errors,
                    result.status,
                    result.rate_remaining,
                    result.rate_reset,
                    result.poll_interval,
                    result.gap_suspected,
                    duration_ms,
                    error,
                    event_ids,
                    complete,
                ),
            )
        conn.commit()

    def interval(self, result: PollResult | None) -> float:
        """The configured interval, raised to GitHub's X-Poll-Interval when that is higher."""
        github_minimum = (result.poll_interval if result else None) or self.client.poll_interval or 0
        return max(self.settings.poll_interval_seconds, github_minimum)

    def run(self) -> None:
        log.info("Pipeline started. Press Ctrl+C to stop.")
        while not self.stop.is_set():
            try:
                result = self.poll_once()
            except lifecycle.Stopped:
                break
            # GitHub's interval runs from a poll's first request: retries within a poll do not
            # restart it, and neither does the time spent loading.
            remaining = self.interval(result) - (self.client.monotonic() - result.started_at)
            if self.stop.is_set():
                break
            if remaining > 0:
                log.info("Sleeping for %d seconds...", round(remaining))
                self.sleep(remaining)
        log.info("Listener stopped.")

    def close(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.conn.close()


def run_listener(settings, once: bool) -> int:
    stop = lifecycle.STOP
    client = GitHubClient(settings.github_api_url, settings.github_token, stop=stop)
    listener = Listener(settings, client, stop=stop)
    lifecycle.install_stop_handlers(
        stop,
        lambda name: log.info("%s received: finishing the current batch, then stopping (again to stop at once).", name),
    )
    log.info("Listening to %s/events; bronze in %s.", settings.github_api_url, db.describe(settings))
    try:
        # At start-up a server that is not up yet is waited for (DB_WAIT_SECONDS) and a wrong
        # password ends the run with one line (lifecycle.run_main); later losses are retried for
        # as long as it takes, the fetched events kept in memory.
        listener.conn = listener.connect(wait_for_server=True)
        if once:
            result = listener.poll_once()
            if result.error is not None and not isinstance(result.error, PollInterrupted):
                # The continuous listener goes on to the next poll; a single poll that failed
                # (network, GitHub's errors) did not do its job. Its line is logged above.
                return lifecycle.EXIT_FAILED
        else:
            listener.run()
    except lifecycle.Stopped:
        log.info("Listener stopped.")
    except AuthenticationError as exc:
        log.error("%s", exc)
        return lifecycle.EXIT_AUTH
    finally:
        listener.close()
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="run one load (or one poll) and exit")
    parser.add_argument(
        "--source",
        nargs="+",
        metavar="PATH",
        help="load events from these files or directories instead of the GitHub API",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = start_process()
    if not args.source:
        return run_listener(settings, args.once)
    try:
        files = expand_inputs(args.source)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return lifecycle.EXIT_CONFIG
    chosen = set(files)
    for name in args.source:
        if Path(name).is_dir():
            skipped = sorted(p.name for p in Path(name).iterdir() if p.is_file() and p not in chosen)
            if skipped:
                log.warning(
                    "%s: skipped %d file(s) that are not event files (%s): %s",
                    name,
                    len(skipped),
                    " ".join(INPUT_PATTERNS),
                    ", ".join(skipped),
                )
    if not files:
        log.error(
            "No event file to load in %s (a directory contributes %s; name other files directly).",
            " ".join(args.source),
            " ".join(INPUT_PATTERNS),
        )
        return lifecycle.EXIT_CONFIG
    # Every input is checked before anything is loaded: a tar or a broken zip among them stops the
    # run with one line each and nothing half-loaded or dead-lettered.
    sources, refused = [], []
    for path in files:
        try:
            sources += file_sources(path)
        except UnsupportedInput as exc:
            refused.append(exc)
            log.error("%s", exc)
    if refused:
        return lifecycle.EXIT_CONFIG
    stop = lifecycle.STOP
    lifecycle.install_stop_handlers(
        stop,
        lambda name: log.info(
            "%s received: finishing the current chunk (it commits), then stopping (again to stop at once).", name
        ),
    )
    log.info("Loading %d file(s) into bronze (%s).", len(sources), db.describe(settings))
    try:
        with db.connection(settings, stop=stop) as conn:
            total, damaged = load_files(conn, sources, stop)
    except LoadStopped as exc:
        # Incomplete, so not 0: a script must not take it for a finished load.
        log.info("Total so far: %s (%d repaired).", exc.total.summary(), exc.total.repaired)
        log.error("%s Rerun the same command to finish (the dedup makes it exact).", exc)
        return lifecycle.EXIT_FAILED
    log.info("Total: %s (%d repaired) from %d file(s).", total.summary(), total.repaired, len(sources))
    if damaged:
        log.error("%d file(s) could not be read to the end:\n  %s", len(damaged), "\n  ".join(damaged))
        return 1
    return 0


if __name__ == "__main__":
    exit_with(main)
