"""Every command meets an unreachable server, a wrong password or a missing database with one line
(host, port, database, user; never the password), no traceback, and the documented exit code:
2 configuration (the database does not exist), 3 authentication, 4 unreachable after waiting
(health.py keeps its 0/1/2: critical). Waiting is said out loud; a wrong password is not retried."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE
from helpers import ThrowawayPostgres, free_port

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

PASSWORD = "right-pw-Zq81"
WRONG_PASSWORD = "wrong-pw-Kx73"
COMMANDS = {
    "setup_db": ["setup_db.py"],
    "listener": ["ingestion/src/main.py", "--once"],
    "main_source": ["ingestion/src/main.py", "--once", "--source", str(SAMPLE_FILE)],
    "process_etl": ["ingestion/src/process_etl.py", "--once"],
    "process_silver": ["ingestion/src/process_silver.py"],
    "process_gold": ["ingestion/src/process_gold.py"],
    "backfill": ["ingestion/src/backfill.py", "--report", "--from", "2024-01-01-0"],
    "dlq": ["ingestion/src/dlq.py", "list"],
    "analytics": ["ingestion/src/analytics.py"],
    "report": ["ingestion/src/report.py", "--out", "-"],
    "health": ["ingestion/src/health.py"],
}
# situation -> (exit code, words of the one line)
EXPECTED = {
    "unreachable": (4, "Connection refused"),
    "wrong_password": (3, "password authentication failed"),
    "missing_database": (2, 'database "no_such_warehouse" does not exist'),
}


@pytest.fixture(scope="module")
def server():
    with ThrowawayPostgres(PASSWORD) as pg:
        pg.start()
        yield pg


def run(command, tmp_path, port: int, password: str, dbname: str):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LOG_DIR": str(tmp_path / "logs"),
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(port),
        "DB_NAME": dbname,
        "DB_USER": "postgres",
        "DB_PASS": password,
        "DB_WAIT_SECONDS": "2",
        "GITHUB_API_URL": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [sys.executable, *command], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("situation", EXPECTED)
@pytest.mark.parametrize("name", COMMANDS)
def test_a_database_problem_is_one_line_and_an_exit_code(server, tmp_path, name, situation):
    if name == "setup_db" and situation == "missing_database":
        pytest.skip("setup_db creates a missing database: tested below")
    port = free_port() if situation == "unreachable" else server.port
    password = WRONG_PASSWORD if situation == "wrong_password" else PASSWORD
    dbname = "no_such_warehouse" if situation == "missing_database" else "postgres"
    result = run(COMMANDS[name], tmp_path, port, password, dbname)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert PASSWORD not in output and WRONG_PASSWORD not in output
    code, words = EXPECTED[situation]
    if name == "health":  # its documented 0/1/2: an unusable database is critical
        assert result.returncode == 2, output
        assert "database: reachable" in result.stdout and words in result.stdout
        return
    assert result.returncode == code, output
    errors = [line for line in result.stderr.splitlines() if " - ERROR - " in line]
    assert len(errors) == 1, output
    assert words in errors[0]
    assert f"at 127.0.0.1:{port} as user postgres" in errors[0] and f"database {dbname}" in errors[0]
    if situation == "unreachable":
        assert f"waiting for the database at 127.0.0.1:{port} (attempt 1)" in result.stderr
    else:
        assert "waiting for the database" not in result.stderr  # not retried


def test_setup_db_creates_a_missing_database_when_the_role_may(server, tmp_path):
    result = run(COMMANDS["setup_db"], tmp_path, server.port, PASSWORD, "created_by_setup")
    assert result.returncode == 0, result.stderr
    assert f"Created database created_by_setup at 127.0.0.1:{server.port}." in result.stderr
    assert "Warehouse ready" in result.stderr
    again = run(COMMANDS["setup_db"], tmp_path, server.port, PASSWORD, "created_by_setup")
    assert again.returncode == 0 and "Created database" not in again.stderr


def test_setup_db_says_what_an_admin_must_run_when_the_role_may_not_create_it(server, tmp_path):
    import psycopg2

    admin = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", password=PASSWORD, dbname="postgres")
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE ROLE plain_user LOGIN PASSWORD 'plain-pw-55' NOCREATEDB")
    finally:
        admin.close()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LOG_DIR": str(tmp_path / "logs"),
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(server.port),
        "DB_NAME": "wanted_db",
        "DB_USER": "plain_user",
        "DB_PASS": "plain-pw-55",
        "DB_WAIT_SECONDS": "2",
    }
    result = subprocess.run(
        [sys.executable, "setup_db.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if " - ERROR - " in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert 'CREATE DATABASE "wanted_db" OWNER "plain_user";' in errors[0]
    assert "plain-pw-55" not in result.stderr


def test_the_listener_once_does_not_retry_a_wrong_password(server, tmp_path):
    result = run(COMMANDS["listener"], tmp_path, server.port, WRONG_PASSWORD, "postgres")
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("password authentication failed") == 1
