"""Secrets stay in the process: never in a log line, printed output, an exception, a URL, a
child's command line or environment, or a table another role can read."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE, scalar
from psycopg2.extensions import parse_dsn

from ghdw.core.redaction import secret_forms
from ghdw.dev.local_github import LocalGitHub, read_events

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

# Every character with a meaning in a URL, between pieces unusual enough to grep for.
PASSWORD = "Zq7x%Kw2@Pm4v:Rt9y/Ln3b Hd6s"
PIECES = ("Zq7x", "Kw2", "Pm4v", "Rt9y", "Ln3b", "Hd6s")
TOKEN = "ghp_R3fl3ctedT0ken0123456789abcdefABCD"
EVENTS = read_events([SAMPLE_FILE])
COMMANDS = {
    "setup": ["setup_db.py"],
    "health": ["ingestion/src/health.py"],
    "load": ["ingestion/src/main.py", "--once", "--source", str(SAMPLE_FILE)],
    "etl": ["ingestion/src/process_etl.py", "--once"],
}


def _leaks(text: str, secret: str, pieces=()) -> list[str]:
    return sorted(form for form in (*secret_forms(secret), *pieces) if form in text)


def _url_with_password(url: str, written_password: str) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{written_password}@{host}"))


def _run(args, env: dict, tmp_path) -> tuple[subprocess.CompletedProcess, str]:
    """Run a command as a user would; returns it and everything it wrote (output and log files)."""
    log_dir = tmp_path / "logs"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOG_DIR": str(log_dir), **env}
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    logs = "".join(p.read_text(errors="replace") for p in log_dir.glob("*")) if log_dir.is_dir() else ""
    return result, result.stdout + result.stderr + logs


def _all_table_text(conn) -> str:
    """Every row of every warehouse table, as text."""
    with conn.cursor() as cur:
        cur.execute("""SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
                       WHERE table_schema IN ('bronze', 'silver', 'gold')""")
        texts = []
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT COALESCE(string_agg(t::TEXT, E'\\n'), '') FROM {table} AS t")
            texts.append(cur.fetchone()[0])
    conn.rollback()
    return "\n".join(texts)


@pytest.mark.parametrize("command", COMMANDS)
def test_percent_encoded_database_password_never_leaves_a_command(settings, conn, tmp_path, command):
    url = _url_with_password(settings.database_url, quote(PASSWORD, safe=""))
    result, output = _run(COMMANDS[command], {"DATABASE_URL": url}, tmp_path)
    assert result.returncode in (0, 1), output  # health may warn on a young warehouse
    assert _leaks(output, PASSWORD, PIECES) == []
    assert _leaks(_all_table_text(conn), PASSWORD, PIECES) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_unencoded_database_password_is_refused_without_echoing_it(settings, tmp_path, command):
    url = _url_with_password(settings.database_url, PASSWORD)
    result, output = _run(COMMANDS[command], {"DATABASE_URL": url}, tmp_path)
    assert result.returncode == 2, output
    assert "DATABASE_URL" in result.stderr and "percent-encode" in result.stderr
    assert _leaks(output, PASSWORD, PIECES) == []


def test_unreachable_database_with_a_stray_percent_is_not_quoted_by_health(settings, tmp_path):
    # libpq's parse error quotes the token it could not decode: the password, here.
    result, output = _run(
        ["ingestion/src/health.py"], {"DATABASE_URL": "postgresql://app:Zq7x%Kw2@127.0.0.1:1/none"}, tmp_path
    )
    assert result.returncode == 2
    assert _leaks(output, "Zq7x%Kw2", ("Zq7x",)) == []


@pytest.mark.parametrize("pad", [0, 110])  # 110: the token straddles the 200-character excerpt
def test_token_reflected_in_a_rejected_poll_reaches_no_table_and_no_log(settings, conn, tmp_path, pad):
    with LocalGitHub(EVENTS) as github:
        github.inject(f"reflect-auth:422:{pad}")
        result, output = _run(
            ["ingestion/src/main.py", "--once"],
            {"DATABASE_URL": settings.database_url, "GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN},
            tmp_path,
        )
        assert github.requests[0]["authorization"] == f"Bearer {TOKEN}"  # it was sent, and echoed
    assert result.returncode == 1, output  # a --once poll that failed (README: exit codes)
    stored = scalar(conn, "SELECT error_message FROM bronze.poll_log")
    assert "422" in stored
    # The BI role reads the last poll's error through this view.
    shown = scalar(conn, "SELECT last_poll_error FROM gold.v_pipeline_health")
    for text in (stored, shown, output, _all_table_text(conn)):
        assert _leaks(text, TOKEN, (TOKEN[:12],)) == []


@pytest.mark.parametrize(
    "variable, value",
    [
        ("GITHUB_API_URL", "https://octocat:ghp_InUrlSecret42@api.example.com"),
        ("GITHUB_API_URL", "https://ghp_InUrlSecret42@api.example.com"),
        ("GHARCHIVE_URL", "ftp://mirror:ghp_InUrlSecret42@archive.example.com"),
    ],
)
def test_configuration_error_does_not_echo_credentials_inside_a_url(settings, tmp_path, variable, value):
    result, output = _run(
        ["ingestion/src/health.py"], {"DATABASE_URL": settings.database_url, variable: value}, tmp_path
    )
    assert result.returncode == 2 and variable in result.stderr
    assert "ghp_InUrlSecret42" not in output


def _fake_psql(tmp_path):
    """A `psql` on PATH that records its argv, its environment and the password file it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "psql-call.json"
    script = bin_dir / "psql"
    script.write_text(f"""#!{sys.executable}
import json, os, sys
passfile = os.environ.get("PGPASSFILE")
mode = oct(os.stat(passfile).st_mode & 0o777) if passfile else None
json.dump({{"argv": sys.argv, "env": dict(os.environ), "mode": mode,
            "passfile": open(passfile).read() if passfile else None}}, open({str(record)!r}, "w"))
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir, record


@pytest.mark.parametrize("how", ["DATABASE_URL", "DB_HOST"])
def test_psql_gets_the_password_in_a_private_file_never_in_argv_or_environment(settings, tmp_path, how):
    bin_dir, record = _fake_psql(tmp_path)
    if how == "DATABASE_URL":
        env = {"DATABASE_URL": f"postgresql://app:{quote(PASSWORD, safe='')}@db.example.com:6543/warehouse"}
    else:
        env = {
            "DB_HOST": "db.example.com",
            "DB_PORT": "6543",
            "DB_USER": "app",
            "DB_NAME": "warehouse",
            "DB_PASS": PASSWORD,
        }
    env["PATH"] = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    # db.example.com does not exist: psql.py's connection check (which classifies a wrong password
    # or a missing database before psql starts) is stood in for by a server of version 16, and the
    # recording psql is the one chosen.
    driver = f"""
import contextlib, sys
from ghdw.ops import psql
class Server:
    server_version = 160000
psql.db.connection = lambda settings: contextlib.nullcontext(Server())
psql.choose_psql = lambda major: ({str(bin_dir / "psql")!r}, 16)
sys.exit(psql.main(["-c", "SELECT 1"]))
"""
    result, _ = _run(["-c", driver], env, tmp_path)
    assert result.returncode == 0, result.stderr
    call = json.loads(record.read_text())
    assert _leaks(" ".join(call["argv"]), PASSWORD, PIECES) == []
    assert _leaks("\n".join(call["env"].values()), PASSWORD, PIECES) == []
    conninfo = parse_dsn(call["argv"][1])
    assert (conninfo["host"], conninfo["port"], conninfo["user"], conninfo["dbname"]) == (
        "db.example.com",
        "6543",
        "app",
        "warehouse",
    )
    assert call["argv"][2:] == ["-c", "SELECT 1"]
    # libpq's pgpass format: ':' and '\' escaped; readable by the owner only, gone afterwards.
    assert call["passfile"] == "*:*:*:*:" + PASSWORD.replace(":", "\\:") + "\n"
    assert call["mode"] == "0o600" and not os.path.exists(call["env"]["PGPASSFILE"])


def _python(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_log_lines_mask_a_secret_in_every_encoding_and_any_url_credentials(tmp_path):
    code = f"""
import logging
from pathlib import Path
from urllib.parse import quote, quote_plus
from ghdw.logger import setup_logging
setup_logging(Path({str(tmp_path)!r}), secrets=[{PASSWORD!r}])
log = logging.getLogger("ghdw.DATABASE")
log.warning("raw %s", {PASSWORD!r})
log.warning("url postgresql://app:%s@db/x", quote({PASSWORD!r}, safe=""))
log.warning("plus %s", quote_plus({PASSWORD!r}))
log.warning("repr %r", {{"password": {PASSWORD!r}}})
log.warning("other https://someone:OtherSecret77@example.com/path")
"""
    result = _python(code, tmp_path)
    output = result.stderr + (tmp_path / "pipeline.log").read_text()
    assert result.returncode == 0, result.stderr
    assert output.count("***") >= 5
    assert _leaks(output, PASSWORD, PIECES) == [] and "OtherSecret77" not in output


def test_other_libraries_records_and_uncaught_exceptions_are_redacted(tmp_path):
    code = f"""
import logging
from pathlib import Path
from ghdw.logger import setup_logging
setup_logging(Path({str(tmp_path)!r}), secrets=[{TOKEN!r}])
logging.getLogger("urllib3.connectionpool").warning("Retrying with token %s", {TOKEN!r})
raise RuntimeError("connection failed: token " + {TOKEN!r})
"""
    result = _python(code, tmp_path)
    assert "Retrying with token ***" in result.stderr and "RuntimeError: connection failed" in result.stderr
    assert TOKEN not in result.stderr


def test_a_warning_from_every_module_that_logs_is_redacted_and_reaches_the_log(tmp_path):
    """Logging is configured once at the package root: no module has to be registered by name for
    its records to reach the console and pipeline.log, redacted (dlq.py's once were lost)."""
    import ast

    modules = {}
    package_dir = REPO_ROOT / "ingestion" / "src"
    for path in package_dir.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "attr", "") == "getLogger"
            ):
                relative = path.relative_to(package_dir).with_suffix("")
                modules[".".join(("ghdw", *relative.parts))] = node.targets[0].id
    assert "ghdw.bronze.dlq" in modules and len(modules) >= 10, modules
    code = f"""
import importlib
from pathlib import Path
from ghdw.logger import setup_logging
setup_logging(Path({str(tmp_path)!r}), secrets=[{PASSWORD!r}])
for module, attribute in {modules!r}.items():
    getattr(importlib.import_module(module), attribute).warning("from %s: secret %s", module, {PASSWORD!r})
"""
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    logged = result.stderr + "".join(p.read_text() for p in tmp_path.glob("*.log"))
    for module in modules:
        assert re.search(rf"from {re.escape(module)}: secret \*\*\*", logged), module
    assert PASSWORD not in logged
