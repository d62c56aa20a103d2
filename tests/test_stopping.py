"""Stopping: SIGTERM or Ctrl-C ends the listener and the scheduler within 2 s wherever they are
(a retry backoff, a gold run blocked by a lock); a second Ctrl-C ends them at once; a write in
flight commits or rolls back, never half. Gold gives up on a lock held elsewhere after
GOLD_LOCK_TIMEOUT_SECONDS with one line naming the session, and the scheduler carries on.
Real processes, real signals, a real PostgreSQL and a local GitHub over loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE, make_event, scalar

from ghdw.bronze_loader import load_events
from ghdw.core import db
from ghdw.dev.local_github import LocalGitHub, read_events

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

EVENTS = read_events([SAMPLE_FILE])
# The requirement is 2 s; the bound leaves room for a loaded CI machine, and the waits it
# interrupts are far longer (a 500's backoff grows to 32 s; a lock is held until the test lets go).
STOP_BOUND_SECONDS = 5
WAIT_FOR_SECONDS = 60


def start(settings, script: str, tmp_path, **env_extra) -> subprocess.Popen:
    env = {
        "DATABASE_URL": settings.database_url,
        "LOG_DIR": str(tmp_path / "logs"),
        "PATH": os.environ.get("PATH", ""),
        **env_extra,
    }
    proc = subprocess.Popen(
        [sys.executable, script], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    proc.lines = []  # type: ignore[attr-defined]

    def collect() -> None:
        for line in proc.stdout:
            proc.lines.append(line)  # type: ignore[attr-defined]

    proc.reader = threading.Thread(target=collect, daemon=True)  # type: ignore[attr-defined]
    proc.reader.start()  # type: ignore[attr-defined]
    return proc


def output(proc) -> str:
    return "".join(proc.lines)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_FOR_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stop_time(proc, signum=signal.SIGTERM) -> float:
    """Seconds from the signal to the process's exit (killed after a minute if it never exits)."""
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        proc.wait(timeout=WAIT_FOR_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.reader.join(timeout=5)
    return time.monotonic() - sent


def blocked_on_a_lock(conn, application: str = db.APPLICATION_NAME) -> bool:
    return (
        scalar(
            conn,
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = %s",
            (application,),
        )
        > 0
    )


def test_sigterm_during_a_github_retry_backoff_stops_within_two_seconds(settings, conn, tmp_path):
    with LocalGitHub(EVENTS) as github:
        github.inject(*["500"] * 6)
        proc = start(settings, "ingestion/src/main.py", tmp_path, GITHUB_API_URL=github.url)
        wait_for(lambda: "retry 2/5 in" in output(proc), "the second retry backoff")
        seconds = stop_time(proc)
    assert seconds < STOP_BOUND_SECONDS, output(proc)
    assert proc.returncode == 0, output(proc)
    assert "Listener stopped." in output(proc) and "Traceback" not in output(proc)


def test_a_write_blocked_by_a_lock_waits_and_a_second_sigint_exits_at_once(settings, conn, tmp_path):
    holder = db.connect(settings)
    try:
        with holder.cursor() as cur:  # reads go on; inserts into bronze wait
            cur.execute("LOCK TABLE bronze.raw_events IN SHARE MODE")
        with LocalGitHub(EVENTS) as github:
            proc = start(settings, "ingestion/src/main.py", tmp_path, GITHUB_API_URL=github.url)
            wait_for(lambda: blocked_on_a_lock(conn), "the listener's insert to wait for the lock")
            proc.send_signal(signal.SIGINT)
            wait_for(lambda: "SIGINT received" in output(proc), "the first SIGINT to be acknowledged")
            assert proc.poll() is None  # the write in flight is waited for (up to its statement timeout)
            seconds = stop_time(proc, signal.SIGINT)
    finally:
        holder.rollback()
        holder.close()
    assert seconds < STOP_BOUND_SECONDS, output(proc)
    assert proc.returncode == 128 + signal.SIGINT, output(proc)
    assert "Second SIGINT: stopping at once" in output(proc)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 0  # rolled back, not half-written
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.poll_log") == 0


def _hold_gold_lock(settings):
    holder = db.connect(settings)
    with holder.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        cur.execute("LOCK TABLE gold.fact_events IN ACCESS EXCLUSIVE MODE")
    return holder, pid


def test_gold_blocked_by_a_lock_times_out_with_one_line_naming_the_holder_and_the_scheduler_carries_on(
    settings, conn, tmp_path
):
    load_events(conn, [make_event("1"), make_event("2")])
    holder, holder_pid = _hold_gold_lock(settings)
    try:
        proc = start(
            settings,
            "ingestion/src/process_etl.py",
            tmp_path,
            ETL_MODE="demo",
            DEMO_INTERVAL_SECONDS="1",
            GOLD_LOCK_TIMEOUT_SECONDS="1",
        )
        wait_for(lambda: "timed out after 1s" in output(proc), "gold's lock timeout")
    finally:
        holder.rollback()
        holder.close()
    wait_for(lambda: scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 2, "the next cycle's gold load")
    stop_time(proc)
    lines = [line for line in output(proc).splitlines() if "gold: waiting for a lock" in line]
    assert lines and lines[0].endswith("rolled back, will retry next cycle."), output(proc)
    assert f"held by pid {holder_pid} (" in lines[0]
    assert "Traceback" not in output(proc) and proc.returncode == 0


def test_sigterm_cancels_a_gold_run_blocked_by_a_lock_within_two_seconds_and_it_rolls_back(settings, conn, tmp_path):
    load_events(conn, [make_event("1"), make_event("2")])
    holder, _ = _hold_gold_lock(settings)
    try:
        proc = start(
            settings, "ingestion/src/process_etl.py", tmp_path, ETL_MODE="demo", GOLD_LOCK_TIMEOUT_SECONDS="600"
        )
        wait_for(lambda: "[2/2] Gold Layer" in output(proc) and blocked_on_a_lock(conn), "gold to wait for the lock")
        seconds = stop_time(proc)
    finally:
        holder.rollback()
        holder.close()
    assert seconds < STOP_BOUND_SECONDS, output(proc)
    assert proc.returncode == 0, output(proc)
    assert "gold: cancelled by the stop request; rolled back" in output(proc)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM gold.dim_actors WHERE actor_id <> -1") == 0
