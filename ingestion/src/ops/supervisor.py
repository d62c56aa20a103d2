"""Run the whole pipeline: the bronze listener and the silver + gold scheduler together.

    ghdw run                                              live: GitHub's API, until Ctrl-C
    ghdw demo --duration 30       (= ghdw run --local-github --duration 30 --show)
                                                          the demo: a local GitHub on loopback serving
                                                          recorded real events, for 30 s, then the
                                                          health checks and Q1-Q4

Both processes use the same database (the embedded PostgreSQL 16 unless one is configured,
which this supervisor keeps running while they work). Ctrl-C / SIGTERM is passed on to both;
each finishes its current batch or step, then stops.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading

from ghdw.core import db, lifecycle
from ghdw.core.lifecycle import exit_with
from ghdw.logger import start_process

log = logging.getLogger("ghdw.ORCHESTRATOR")
CHILD_STOP_TIMEOUT = 60  # seconds a child gets to finish its batch after SIGTERM
# The demo's pace, set explicitly for the children so that a .env written for production
# (POLL_INTERVAL_SECONDS=60, DEMO_INTERVAL_SECONDS=120, ETL_MODE=production) cannot turn a 30 s
# demo into one poll and no ETL cycle: the local GitHub asks for 1 s between polls, and the
# scheduler runs a cycle every 10 s, so 30 s show several polls and cycles.
DEMO_POLL_INTERVAL_SECONDS = 2
DEMO_ETL_INTERVAL_SECONDS = 10


def start_local_github(events_per_second: float):
    from ghdw.dev.local_github import DEFAULT_SOURCES, LocalGitHub, read_events

    events = read_events(DEFAULT_SOURCES)
    server = LocalGitHub(
        events, initially_produced=100, events_per_second=events_per_second, poll_interval=1, restamp=True
    ).start()
    log.info(
        "Local GitHub serving %d recorded real events at %s/events (%.0f new events/s).",
        len(events),
        server.url,
        events_per_second,
    )
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=None, help="stop both processes after this many seconds")
    parser.add_argument("--local-github", action="store_true", help="poll a local GitHub serving recorded events")
    parser.add_argument("--events-per-second", type=float, default=20.0, help="pace of the local GitHub")
    parser.add_argument("--show", action="store_true", help="finish with one ETL cycle, health checks and Q1-Q4")
    args = parser.parse_args(argv)
    settings = start_process()
    env = dict(os.environ)
    if settings.uses_embedded_db:
        db.embedded_server(settings)  # held by this process while the children come and go
    server = None
    if args.local_github:
        server = start_local_github(args.events_per_second)
        env.update(
            GITHUB_API_URL=server.url,
            POLL_INTERVAL_SECONDS=str(DEMO_POLL_INTERVAL_SECONDS),
            DEMO_INTERVAL_SECONDS=str(DEMO_ETL_INTERVAL_SECONDS),
            ETL_MODE="demo",
        )
        log.info(
            "Demo pace: a poll every %d s, an ETL cycle every %d s (set here, whatever .env says).",
            DEMO_POLL_INTERVAL_SECONDS,
            DEMO_ETL_INTERVAL_SECONDS,
        )
        # Never send a real token to the local server. Empty, not removed: a child would otherwise
        # read it back from .env (load_dotenv fills only variables that are not set at all).
        env["GITHUB_TOKEN"] = ""
    # Each child in a session of its own: a Ctrl-C in the terminal reaches only this supervisor,
    # which passes on one SIGTERM (finish the batch), and a second one only on a second Ctrl-C
    # (stop at once). Sharing the terminal's process group, a child would count the terminal's
    # SIGINT and our SIGTERM as two signals and stop at once on the first Ctrl-C.
    children = [
        subprocess.Popen([sys.executable, "-m", "ghdw", command], env=env, start_new_session=True)
        for command in ("listen", "etl")
    ]
    stop = threading.Event()
    signals_received = []

    def request_stop(signum, _frame):
        signals_received.append(signum)
        if len(signals_received) == 1:
            log.info("%s received: stopping both processes (again to stop them at once).", signal.Signals(signum).name)
        else:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)  # their second signal: they stop at once
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    log.info(
        "Listener (pid %d) and scheduler (pid %d) running%s.",
        children[0].pid,
        children[1].pid,
        f" for {args.duration:.0f}s" if args.duration else "; Ctrl-C stops both",
    )
    first_exit = None  # the code of a child that ended on its own (not stopped by us)
    while not stop.wait(0.5):
        if args.duration is not None and args.duration <= 0:
            break
        if args.duration is not None:
            args.duration -= 0.5
        ended = [child.poll() for child in children if child.poll() is not None]
        if ended:
            first_exit = ended[0]
            log.error("A pipeline process exited (codes %s); stopping the other.", [c.poll() for c in children])
            break
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    codes = []
    for child in children:
        try:
            codes.append(child.wait(timeout=CHILD_STOP_TIMEOUT))
        except subprocess.TimeoutExpired:
            log.error("Process %d did not stop within %d s of SIGTERM; killing it.", child.pid, CHILD_STOP_TIMEOUT)
            child.kill()
            codes.append(child.wait())
    if server:
        server.stop()
    log.info("Both processes stopped (exit codes %s).", codes)
    if args.show:
        subprocess.run([sys.executable, "-m", "ghdw", "etl", "--once"], env=env, check=False)
        subprocess.run([sys.executable, "-m", "ghdw.ops.queries"], env=env, check=False)
    return exit_code(codes, first_exit)


def exit_code(codes: list[int], first_exit: int | None) -> int:
    """The supervisor's exit code: a child's own documented code (2 configuration, 3 permission, 4
    unreachable, ...) when one ended by itself, so `restart: on-failure` and scripts see the cause;
    0 when both stopped cleanly; 1 for any other ending (killed, or a signal's code)."""
    if first_exit is not None and first_exit > 0:
        return first_exit
    if all(code == 0 for code in codes):
        return 0
    return next((code for code in codes if 0 < code < lifecycle.EXIT_SIGNAL_BASE), 1)


if __name__ == "__main__":
    exit_with(main)
