"""The silver+gold scheduler: one cycle at a time per warehouse, clean stop on SIGTERM."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE, make_event, scalar

from ghdw.bronze_loader import load_events
from ghdw.core import db
from ghdw.process_etl import ETL_LOCK_KEY, EtlScheduler

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)


def test_second_scheduler_skips_while_a_cycle_holds_the_lock(settings, conn, caplog):
    load_events(conn, [make_event("1")])
    holder = db.connect(settings)
    try:
        holder.autocommit = True
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (ETL_LOCK_KEY,))
        caplog.set_level("INFO")
        assert EtlScheduler(settings).run_cycle() is True
        assert "Another scheduler is running an ETL cycle" in caplog.text
        assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 0
    finally:
        holder.close()
    assert EtlScheduler(settings).run_cycle() is True
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 1


def test_sigterm_lets_the_current_step_finish_then_stops(settings, conn):
    env = {
        "DATABASE_URL": settings.database_url,
        "LOG_DIR": str(settings.log_dir),
        "ETL_MODE": "demo",
        "PATH": os.environ.get("PATH", ""),
    }
    subprocess.run(
        [sys.executable, "ingestion/src/main.py", "--once", "--source", str(SAMPLE_FILE)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    proc = subprocess.Popen(
        [sys.executable, "ingestion/src/process_etl.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 0:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "SIGTERM received" in output and "Scheduler stopped." in output
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 450
