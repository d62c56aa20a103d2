"""Every command says first which database it uses; the Makefile says which database each target
uses and never drops one silently; a .env copied from .env.example cannot slow the demo down."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE, scalar
from helpers import run_cli

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

PASSWORD = "pw-never-in-a-log-line"
COMMANDS = {
    "setup_db": ["setup_db.py"],
    "main": ["ingestion/src/main.py", "--once", "--source", str(SAMPLE_FILE)],
    "process_etl": ["ingestion/src/process_etl.py", "--once"],
    "process_silver": ["ingestion/src/process_silver.py"],
    "process_gold": ["ingestion/src/process_gold.py"],
    "analytics": ["ingestion/src/analytics.py"],
    "health": ["ingestion/src/health.py", "--json"],
    "report": ["ingestion/src/report.py", "--out", "-"],
    "backfill": ["ingestion/src/backfill.py", "--report", "--from", "2024-01-01-0"],
    "dlq": ["ingestion/src/dlq.py", "list"],
    "ghdw psql": ["-m", "ghdw", "psql", "-c", "SELECT 1"],
    "ghdw demo": ["-m", "ghdw", "demo", "--duration", "0"],
    "ghdw setup": ["-m", "ghdw", "setup"],
    "ghdw load": ["-m", "ghdw", "load", str(SAMPLE_FILE)],
    "ghdw etl": ["-m", "ghdw", "etl", "--once"],
    "ghdw health": ["-m", "ghdw", "health", "--json"],
    "ghdw queries": ["-m", "ghdw", "queries"],
    "ghdw backfill": ["-m", "ghdw", "backfill", "--report", "--from", "2024-01-01-0"],
    "ghdw dlq": ["-m", "ghdw", "dlq", "list"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_first_says_which_database_it_uses_without_its_password(settings, command):
    if "psql" in command and shutil.which("psql") is None:
        pytest.skip("no psql client installed")
    url = settings.database_url.replace("postgres:@", f"postgres:{PASSWORD}@", 1)  # trust auth ignores it
    result = run_cli(settings, *command, env_extra={"DATABASE_URL": url})
    assert result.returncode in (0, 1), result.stderr
    database = urlsplit(settings.database_url).path.lstrip("/")
    first_line = result.stderr.splitlines()[0]
    assert re.search(
        rf" - DATABASE - INFO - Database: PostgreSQL postgres@.*/{database} \(DATABASE_URL\)$", first_line
    ), first_line
    assert PASSWORD not in result.stderr + result.stdout


def _make(*args: str) -> str:
    """What make would run (-n: nothing is run), from a directory where the venv looks installed."""
    result = subprocess.run(
        ["make", "-n", "-s", "-f", str(REPO_ROOT / "Makefile"), "-o", ".venv/.installed", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target_with_one_line_each():
    phony = re.search(r"^\.PHONY:(.*)$", (REPO_ROOT / "Makefile").read_text(), flags=re.MULTILINE).group(1).split()
    result = subprocess.run(
        ["make", "-s", "-f", str(REPO_ROOT / "Makefile"), "help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    described = dict(re.findall(r"^\s*make (\S+)\s+(\S.*)$", result.stdout, flags=re.MULTILINE))
    assert set(described) == set(phony)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_report_and_demo_say_they_recreate_their_own_separate_databases():
    demo, report = _make("demo"), _make("report")
    assert "recreating database github_events_demo" in demo
    assert "recreating database github_events_report" in report
    assert "github_events_demo" not in report  # the report never drops what a demo left
    for commands in (demo, report):
        for line in commands.splitlines():
            if ".py" in line or "ghdw " in line:  # on the embedded server, whatever .env says
                assert "DB_HOST= DATABASE_URL=" in line, line
    # make psql / make health use DB_NAME from the command line like every other target.
    assert "DB_NAME" not in _make("psql") and "github_events_demo" not in _make("health")


@pytest.fixture
def repo_copy(tmp_path):
    """The code the demo runs, in a directory of its own, so a test can give it a .env."""
    root = tmp_path / "repo"
    for part in ("data_samples", "warehouse"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


# A .env written for production, uncommenting the tunables the demo depends on.
PRODUCTION_PACE = "POLL_INTERVAL_SECONDS=60\nDEMO_INTERVAL_SECONDS=120\nETL_MODE=production\nPRODUCTION_TIME=02:00\n"


@pytest.mark.parametrize("extra", ["", PRODUCTION_PACE], ids=["env-example-as-is", "production-values"])
def test_the_demo_polls_several_times_whatever_a_dotenv_from_env_example_says(repo_copy, settings, conn, extra):
    (repo_copy / ".env").write_text((REPO_ROOT / ".env.example").read_text() + extra)
    # GHDW_HOME: the installed package reads this directory's .env (and warehouse/), not the checkout's.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": settings.database_url,
        "LOG_DIR": str(settings.log_dir),
        "GHDW_HOME": str(repo_copy),
    }
    # The demo's command (see the Makefile's demo target), run for 20 s.
    result = subprocess.run(
        [sys.executable, "-m", "ghdw", "run", "--local-github", "--duration", "20"],
        cwd=repo_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Demo mode: ETL runs every 10 seconds." in result.stderr
    polls = scalar(conn, "SELECT COUNT(*) FROM bronze.poll_log")
    assert polls >= 3, f"{polls} poll(s) in 20 s"
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") > 0
