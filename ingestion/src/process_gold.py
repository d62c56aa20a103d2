"""Gold ETL runner: executes warehouse/gold/etl/master_gold_etl.sql as one transaction.

The script carries its own BEGIN ... COMMIT, so it runs the same here and under psql.
Each RAISE NOTICE of the script is forwarded to the GOLD_ETL log as it arrives. On any
error the transaction is rolled back: gold and its watermark stay as they were, and the
next run retries the same range.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg2
from psycopg2 import errors

from ghdw.core import db, lifecycle
from ghdw.core.lifecycle import exit_with
from ghdw.core.sqlfiles import load_sql
from ghdw.logger import start_process

log = logging.getLogger("ghdw.GOLD_ETL")

GOLD_ETL_SQL = "gold/etl/master_gold_etl.sql"  # under warehouse/


# While the transaction runs, who blocks it is looked up this often (on another connection),
# so that a lock timeout can name the session that held the lock: once the statement has
# failed, the wait, and with it pg_blocking_pids(), is gone.
BLOCKER_SAMPLE_SECONDS = 0.5
BLOCKERS_SQL = """
SELECT a.pid, a.usename, a.application_name, a.state,
       EXTRACT(EPOCH FROM now() - a.xact_start)::INT AS transaction_seconds, left(a.query, 80)
  FROM pg_stat_activity AS a
 WHERE a.pid = ANY(pg_blocking_pids(%s))
 ORDER BY a.xact_start
"""


class GoldEtlError(RuntimeError):
    """The gold transaction failed and was rolled back."""


class GoldRetryLater(GoldEtlError):
    """Gold timed out behind a lock (or a statement timeout) and rolled back: the next cycle retries.
    Reported in one line already."""


class GoldStopped(GoldEtlError):
    """A stop request cancelled the gold transaction; it rolled back."""


class _NoticeForwarder:
    """psycopg2 appends each server notice here (conn.notices); we log it instead of keeping it."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.lines: list[str] = []

    def append(self, notice: str) -> None:
        text = notice.strip()
        for prefix in ("NOTICE:", "WARNING:", "INFO:"):
            if text.startswith(prefix):
                text = text[len(prefix) :].strip()
        self.lines.append(text)
        self.logger.info("%s", text)


class _BlockerWatch:
    """Samples, on a spare connection, which sessions the gold backend is waiting for."""

    def __init__(self, monitor_conn, gold_pid: int):
        self.monitor_conn, self.gold_pid = monitor_conn, gold_pid
        self.blockers: list[tuple] = []
        self.next_sample = time.monotonic() + BLOCKER_SAMPLE_SECONDS

    def __call__(self) -> None:
        if self.monitor_conn is None or time.monotonic() < self.next_sample:
            return
        self.next_sample = time.monotonic() + BLOCKER_SAMPLE_SECONDS
        try:
            with self.monitor_conn.cursor() as cur:
                cur.execute(BLOCKERS_SQL, (self.gold_pid,))
                rows = cur.fetchall()
            if not self.monitor_conn.autocommit:
                self.monitor_conn.rollback()
        except psycopg2.Error:
            self.monitor_conn = None  # only a diagnosis: the gold run does not depend on it
            return
        if rows:
            self.blockers = rows

    def describe(self) -> str:
        if not self.blockers:
            return "another session"
        pid, user, application, state, seconds, query = self.blockers[0]
        details = ", ".join(
            part
            for part in (
                f"user {user}" if user else "",
                application or "",
                state or "",
                f"transaction open {seconds}s" if seconds is not None else "",
                f"last query: {query!r}" if query else "",
            )
            if part
        )
        return f"pid {pid} ({details})"


def run_gold(
    conn,
    lock_timeout_seconds: int | None = None,
    statement_timeout_seconds: int | None = None,
    stop: threading.Event | None = None,
    monitor_conn=None,
) -> list[str]:
    """Run the gold ETL; returns the NOTICE lines. Raises GoldEtlError after rolling back.

    With timeouts, a lock held elsewhere longer than lock_timeout_seconds (or a statement running
    longer than statement_timeout_seconds) rolls the transaction back with one clear line
    (GoldRetryLater). A stop request (`stop`) cancels the running statement, which rolls back
    (GoldStopped). monitor_conn, an idle autocommit connection, lets the line name the session
    holding the lock.

    conn must be idle (no transaction open, whatever its autocommit setting): the script's own
    BEGIN/COMMIT delimit the transaction, so it runs in autocommit mode. The caller's autocommit
    setting, lock_timeout and statement_timeout are as they were when this returns or raises."""
    script = load_sql(GOLD_ETL_SQL)
    forwarder = _NoticeForwarder(log)
    previous_notices = conn.notices
    previous_autocommit = conn.autocommit
    conn.notices = forwarder
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_backend_pid(), current_setting('lock_timeout'), current_setting('statement_timeout')"
            )
            gold_pid, previous_lock_timeout, previous_statement_timeout = cur.fetchone()
            cur.execute(
                "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                (f"{lock_timeout_seconds or 0}s", f"{statement_timeout_seconds or 0}s"),
            )
            watch = _BlockerWatch(monitor_conn, gold_pid)
            try:
                lifecycle.call_until_stopped(
                    lambda: cur.execute(script),
                    stop or lifecycle.STOP,
                    on_stop=conn.cancel,
                    on_tick=watch,
                    name="gold-etl",
                )
            except Exception as exc:
                cur.execute("ROLLBACK")
                if db.permanent_failure(exc):
                    raise  # a missing privilege or schema: the caller's one line and exit code
                raise _failure(exc, watch, lock_timeout_seconds, statement_timeout_seconds) from exc
            finally:
                cur.execute(
                    "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                    (previous_lock_timeout, previous_statement_timeout),
                )
        log.info("COMMIT SUCCESSFUL: Gold Layer is up to date.")
        return forwarder.lines
    finally:
        conn.notices = previous_notices
        conn.autocommit = previous_autocommit


def _failure(exc: Exception, watch: _BlockerWatch, lock_timeout, statement_timeout) -> GoldEtlError:
    """Log why the gold transaction rolled back, in one line, and the error to raise."""
    message = lifecycle.first_line(exc)
    if isinstance(exc, errors.ForeignKeyViolation) and exc.diag.message_detail:
        # Which key is missing where ("Key (actor_id)=(-1) is not present in table ..."): ids, no data.
        message = f"{message}: {exc.diag.message_detail.strip().splitlines()[0]}"
    if isinstance(exc, errors.LockNotAvailable):
        log.warning(
            "gold: waiting for a lock held by %s timed out after %ss (GOLD_LOCK_TIMEOUT_SECONDS); "
            "rolled back, will retry next cycle.",
            watch.describe(),
            lock_timeout,
        )
        return GoldRetryLater(message)
    if isinstance(exc, errors.QueryCanceled) and "statement timeout" in message:
        log.warning(
            "gold: a statement ran longer than %ss (GOLD_STATEMENT_TIMEOUT_SECONDS); rolled back, "
            "will retry next cycle.",
            statement_timeout,
        )
        return GoldRetryLater(message)
    if isinstance(exc, errors.QueryCanceled):
        log.warning("gold: cancelled by the stop request; rolled back (gold and its watermark are unchanged).")
        return GoldStopped(message)
    log.error("ROLLBACK: gold ETL failed (%s); gold and its watermark are unchanged, the next run retries.", message)
    return GoldEtlError(message)


def main() -> int:
    settings = start_process()
    lifecycle.install_stop_handlers()
    with db.connection(settings) as conn, db.connection(settings) as monitor:
        monitor.autocommit = True
        try:
            run_gold(
                conn, settings.gold_lock_timeout_seconds, settings.gold_statement_timeout_seconds, monitor_conn=monitor
            )
        except GoldStopped:
            return 0
        except GoldEtlError:
            return 1
    return 0


if __name__ == "__main__":
    exit_with(main)
