"""Real recorded GitHub events, end to end; the specification's queries and commands, verbatim."""

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, SAMPLE_FILE, SPEC_README, query, real_data_files, scalar
from helpers import run_cli, run_etl

from ghdw.main import load_files
from ghdw.ops.queries import health_queries, sample_queries

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)


def events_in(path) -> list[dict]:
    """The events of one file, whatever its format: a JSON array, one JSON object, or JSON lines."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # more than one value: JSON lines
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return data if isinstance(data, list) else [data]


def distinct_ids(paths) -> set[str]:
    return {str(event["id"]) for path in paths for event in events_in(path)}


def test_every_real_event_ends_in_gold_exactly_once(conn):
    files = real_data_files()
    expected = distinct_ids(files)
    report, damaged = load_files(conn, files)
    run_etl(conn)
    assert damaged == []
    dead = scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue")
    filtered = scalar(conn, "SELECT COUNT(*) FROM silver.events WHERE event_time IS NULL")
    facts = {r[0] for r in query(conn, "SELECT event_id FROM gold.fact_events")}
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == len(facts)  # no duplicates
    assert (dead, filtered) == (0, 0)  # the recorded events are all well-formed
    assert facts == expected
    assert report.inserted == len(expected)
    assert report.inserted + report.duplicates == sum(len(events_in(path)) for path in files)


def test_loading_everything_again_adds_nothing(conn):
    files = real_data_files()
    load_files(conn, files)
    run_etl(conn)
    before = scalar(conn, "SELECT COUNT(*) FROM gold.fact_events")
    report, _ = load_files(conn, files)
    run_etl(conn)
    assert report.inserted == 0
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == before


def spec_sql_blocks(after_heading: str) -> list[str]:
    text = SPEC_README.read_text(encoding="utf-8")
    section = text.split(after_heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def normalise(sql: str) -> str:
    return " ".join(line for line in sql.split() if line)


@pytest.fixture
def loaded_sample(conn):
    load_files(conn, [SAMPLE_FILE])
    run_etl(conn)
    return conn


def test_spec_sample_queries_run_verbatim(loaded_sample):
    if not SPEC_README.exists():
        pytest.skip("specification not found")
    blocks = spec_sql_blocks("##  Sample Analytics Queries")
    assert len(blocks) == 4
    with loaded_sample.cursor() as cur:
        for block in blocks:
            cur.execute(block)
            cur.fetchall()
    # The copies the demo and BI use are the specification's text, unchanged.
    ours = [normalise(q.sql) for q in sample_queries()]
    assert ours == [normalise(b) for b in blocks]


def test_spec_health_checks_run_verbatim(loaded_sample):
    if not SPEC_README.exists():
        pytest.skip("specification not found")
    [block] = spec_sql_blocks("### Health Check Queries")
    statements = [
        s
        for s in block.split(";")
        if s.strip() and not all(line.strip().startswith("--") for line in s.strip().splitlines())
    ]
    assert len(statements) == 5
    results = []
    with loaded_sample.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            results.append(cur.fetchall())
    assert results[1] == [(0,)]  # nothing waiting in bronze
    assert results[2] == [(0,)] and results[3] == [(0,)]
    ours = [normalise(q.sql.rstrip(";")) for q in health_queries()]
    theirs = [
        normalise("\n".join(line for line in s.splitlines() if not line.strip().startswith("--"))) for s in statements
    ]
    assert ours == theirs


def test_commands_of_the_quick_start_work(settings, conn):
    loaded = run_cli(settings, "ingestion/src/main.py", "--once", "--source", str(SAMPLE_FILE))
    assert loaded.returncode == 0, loaded.stderr
    assert "Total: 450 Inserted | 0 Duplicates | 0 Errors" in loaded.stderr
    etl = run_cli(settings, "ingestion/src/process_etl.py", "--once")
    assert etl.returncode == 0, etl.stderr
    assert "[4/4] fact_events: 450 rows" in etl.stderr and "RUN #1 COMPLETE" in etl.stderr
    shown = run_cli(settings, "ingestion/src/analytics.py", "--as-of", "busiest")
    assert shown.returncode == 0, shown.stderr
    assert "Q4: Auto-Discovered Event Types Pending Review" in shown.stdout
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 450
    logs = settings.log_dir
    assert "watermark" in (logs / "silver.log").read_text()  # SILVER_DATA detail, file only
    assert "watermark (xid" not in etl.stderr
    assert "COMMIT SUCCESSFUL" in (logs / "silver_gold_etl.log").read_text()


def test_etl_once_exits_non_zero_when_a_step_fails(settings, conn):
    # A failure of the step itself (a dropped view would be a warehouse not set up: exit 2).
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE gold.fact_events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    conn.commit()
    run_cli(settings, "ingestion/src/main.py", "--once", "--source", str(SAMPLE_FILE))
    etl = run_cli(settings, "ingestion/src/process_etl.py", "--once")
    assert etl.returncode == 1
    assert "ROLLBACK" in etl.stderr and "FAILED in the gold step" in etl.stderr


def test_bad_configuration_fails_at_start_with_a_clear_message(settings):
    env_run = subprocess.run(
        [sys.executable, "ingestion/src/process_etl.py", "--once"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), "SILVER_BATCH_SIZE": "lots", "DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert env_run.returncode == 2
    assert "SILVER_BATCH_SIZE='lots' is not an integer" in env_run.stderr
