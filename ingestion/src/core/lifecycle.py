"""How a command stops and how it ends: the stop event, interruptible waits, one line per failure.

* `STOP` is set by the first SIGINT/SIGTERM (`install_stop_handlers`). Every wait of the pipeline
  (poll interval, GitHub retry backoff, database reconnect backoff, the scheduler's tick) waits on
  it, so a stop is noticed at once, not after the sleep. A second signal ends the process at
  once: an open transaction is rolled back by the server when the connection drops.
* `run_main(main)` wraps every entry point: a database that cannot be reached, rejects the login
  or does not exist ends the command with one line (host, port, database, user; never the
  password) and the exit code below, instead of a traceback.

Exit codes, the same for every command (health.py keeps its own documented 0/1/2):
    0    done
    1    some data could not be loaded, or a step failed (the run's own summary says which); also
         a file load or backfill that a first signal stopped before its end, and a --once poll
         that failed
    2    configuration error: a setting, an input, or the database named does not exist or cannot be used
         (its warehouse schema missing, or part of it)
    3    authentication or permission error (database login, missing privilege, a read-only role
         writing, GitHub 401)
    4    the database did not accept connections within DB_WAIT_SECONDS
    130  stopped at once by a second Ctrl-C (143 for a second SIGTERM)
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2  # also what start_process() exits with on a bad setting
EXIT_AUTH = 3  # also main.py's long-documented status for a GitHub 401
EXIT_UNREACHABLE = 4
EXIT_SIGNAL_BASE = 128  # 128 + the signal's number: the shell's convention for "killed by a signal"

# How often a thread waiting for work that cannot itself be interrupted (a statement, an HTTP
# request) looks at the stop event: well inside the 2 s a stop may take.
STOP_CHECK_SECONDS = 0.1

log = logging.getLogger("ghdw.ORCHESTRATOR")

STOP = threading.Event()


class Stopped(Exception):
    """A stop was requested while waiting; the caller ends what it was doing."""


def first_line(exc: BaseException, pgerror: bool = False) -> str:
    """An error's message in one line, for a log line or a stored reason: its first line (of
    psycopg2's pgerror, when asked and set: the server's own text), or the class name if it has none."""
    text = ((getattr(exc, "pgerror", None) if pgerror else None) or str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def backoff_seconds(attempt: int, cap: float) -> float:
    """The wait before retry `attempt` (1, 2, ...): exponential (2 ** attempt) up to `cap`, jittered
    over its upper half so that processes retrying together do not stay in step."""
    backoff = min(cap, 2**attempt)
    return random.uniform(backoff / 2, backoff)


def wait(seconds: float, stop: threading.Event | None = None) -> None:
    """Sleep `seconds`, or raise Stopped as soon as a stop is requested."""
    if (stop or STOP).wait(max(0.0, seconds)):
        raise Stopped()


def install_stop_handlers(stop: threading.Event | None = None, on_first: Callable[[str], None] | None = None) -> None:
    """First SIGINT/SIGTERM: set `stop` (and call on_first(signal name)); a second: exit at once.

    The second signal is acted on by a thread reading signal.set_wakeup_fd's pipe, which the
    interpreter writes from its C-level handler even while the main thread is blocked in a
    database call or a socket read, where Python-level handlers do not run until it returns."""
    stop = stop or STOP
    received: list[int] = []
    lock = threading.Lock()

    def on_signal(signum: int) -> None:
        with lock:
            received.append(signum)
            count = len(received)
        name = signal.Signals(signum).name
        if count == 1:
            if on_first is not None:
                on_first(name)
            else:
                log.info("%s received: finishing the current step, then stopping (again to stop at once).", name)
            stop.set()
        elif count == 2:
            # Our log handlers flush every record, so this line is out before the process ends.
            log.warning("Second %s: stopping at once; an unfinished transaction is rolled back.", name)
            os._exit(EXIT_SIGNAL_BASE + signum)

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            data = os.read(read_fd, 64)
            if not data:
                return
            for signum in data:
                if signum in (signal.SIGINT, signal.SIGTERM):
                    on_signal(signum)

    threading.Thread(target=watch, name="signal-watch", daemon=True).start()
    # Python-level handlers too: without them SIGINT raises KeyboardInterrupt and SIGTERM kills
    # the process outright. The watcher thread does the work.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)


def call_until_stopped(
    work: Callable[[], object],
    stop: threading.Event | None = None,
    on_stop: Callable[[], None] | None = None,
    abandon: bool = False,
    on_tick: Callable[[], None] | None = None,
    name: str = "work",
    grace: float = 0.0,
):
    """Run work() in a thread while this one watches `stop` (and calls on_tick() every tick).

    On a stop: on_stop() (e.g. conn.cancel(), which makes a statement fail and roll back) and
    then, with abandon=False, wait for work() to return and hand on its result or error; with
    abandon=True (an HTTP request), give it `grace` seconds more to finish, then raise Stopped
    and let the daemon thread end on its own timeout."""
    stop = stop or STOP
    outcome: dict = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread and raised there
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    stopping = False
    while not finished.wait(STOP_CHECK_SECONDS):
        if stop.is_set() and not stopping:
            stopping = True
            if on_stop is not None:
                on_stop()
            if abandon:
                if finished.wait(grace):
                    break
                raise Stopped()
        if on_tick is not None and not stopping:
            on_tick()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def run_main(main: Callable[[], int]) -> int:
    """Run an entry point's main(); turn the errors a user can meet into one line and an exit code."""
    import psycopg2

    from ghdw.core import db

    try:
        return main()
    except Stopped:
        log.info("Stopped.")
        return EXIT_OK
    except KeyboardInterrupt:
        log.warning("Interrupted.")
        return EXIT_SIGNAL_BASE + signal.SIGINT
    except psycopg2.Error as exc:
        failure = db.classify_failure(exc)
        if failure is None:
            raise  # a bug or an unexpected state: the traceback is the useful report
        code, text = failure
        from ghdw.core.redaction import redact

        logging.getLogger("ghdw.DATABASE").error("%s", redact(text))
        return code


def exit_with(main: Callable[[], int]) -> None:
    """`if __name__ == "__main__": exit_with(main)` in every entry point."""
    sys.exit(run_main(main))
