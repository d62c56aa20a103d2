"""Small helpers shared by the tests: run the pipeline steps on a warehouse connection."""
from __future__ import annotations

import os
import subprocess
import sys

from bronze_loader import load_events
from conftest import REPO_ROOT
from process_gold import run_gold
from process_silver import run_silver


def run_etl(conn, batch_size: int = 5_000) -> list[str]:
    """One silver + gold cycle, as the scheduler runs it; returns gold's NOTICE lines."""
    run_silver(conn, batch_size)
    return run_gold(conn)


def load_and_etl(conn, events: list[dict], source: str = "test") -> list[str]:
    load_events(conn, events, source)
    return run_etl(conn)


def run_cli(settings, *args, timeout=180, env_extra: dict | None = None):
    """Run one of the project's commands as a user would, against this test's database."""
    env = {"DATABASE_URL": settings.database_url, "LOG_DIR": str(settings.log_dir),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env_extra or {})}
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
