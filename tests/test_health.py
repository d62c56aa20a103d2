"""health.py: exit 0 when healthy, 1 on a warning, 2 on a critical finding; the table and --json."""

from __future__ import annotations

import json
from dataclasses import replace

from conftest import make_event
from helpers import run_cli, run_etl

from ghdw.bronze_loader import load_chunk, load_events
from ghdw.ops.health import run_checks
from ghdw.sources.event_files import Chunk


def _healthy_warehouse(conn):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO bronze.poll_log (pages, events_fetched, http_status) VALUES (1, 3, 200)")
    conn.commit()
    load_events(conn, [make_event(str(i)) for i in range(1, 4)], source="api")
    run_etl(conn)


def _health(settings, *args, **env):
    result = run_cli(settings, "ingestion/src/health.py", *args, env_extra={k: str(v) for k, v in env.items()})
    return result.returncode, result.stdout, result.stderr


def test_healthy_warehouse_exits_0_and_prints_the_table(settings, conn):
    _healthy_warehouse(conn)
    code, out, err = _health(settings)
    assert code == 0, out + err
    assert "bronze: last insert" in out and "gold: last load" in out and "Overall: OK (exit 0)" in out
    assert "spec check: How many Bronze rows haven't been Silver-processed yet?: 0" in out


def test_dead_letter_entry_is_a_warning_exit_1(settings, conn):
    _healthy_warehouse(conn)
    load_chunk(conn, Chunk(data=b'{"id": "9", "broken'), "test")
    code, out, _ = _health(settings, "--json")
    assert code == 1
    report = json.loads(out)
    dlq = next(c for c in report["checks"] if c["name"] == "bronze: dead-letter queue")
    assert (report["status"], dlq["value"], dlq["status"]) == ("WARNING", 1, "WARNING")
    spec = {c["title"]: c["rows"] for c in report["spec_checks"]}
    assert spec["How many Bronze rows haven't been Silver-processed yet?"] == [[0]]


def test_backlog_over_critical_threshold_exits_2(settings, conn):
    _healthy_warehouse(conn)
    load_events(conn, [make_event(str(i)) for i in range(10, 20)])  # not yet through silver
    code, out, _ = _health(
        settings, "--only", "etl", "--json", HEALTH_BACKLOG_EVENTS_WARN=5, HEALTH_BACKLOG_EVENTS_CRIT=10
    )
    assert code == 2
    backlog = next(c for c in json.loads(out)["checks"] if c["name"] == "silver: bronze backlog")
    assert (backlog["value"], backlog["status"]) == (10, "CRITICAL")


def test_stale_listener_and_unreachable_database_are_critical(settings, conn):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO bronze.poll_log (polled_at, pages) VALUES (now() - INTERVAL '2 hours', 1)")
    conn.commit()
    checks = run_checks(conn, settings.health_thresholds, only="listener")
    assert checks[0].status == "CRITICAL" and checks[0].value >= 119
    unreachable = replace(settings, database_url="postgresql://nobody:hunter2@127.0.0.1:1/none")
    code, out, err = _health(unreachable)
    assert code == 2 and "database: reachable" in out and "CRITICAL" in out
    assert "hunter2" not in out + err


def test_empty_warehouse_is_a_warning_not_a_crash(settings):
    code, out, _ = _health(settings, "--json")
    assert code == 1
    assert {c["name"]: c["detail"] for c in json.loads(out)["checks"]}[
        "bronze: last insert"
    ] == "last event stored: none yet"


def test_rejected_event_is_a_warning_with_thresholds_from_the_environment(settings, conn):
    _healthy_warehouse(conn)
    load_events(conn, [make_event("bad-time", created_at="2015-13-45"), make_event("bad-type", event_type=7)])
    run_etl(conn)
    code, out, _ = _health(settings, "--only", "etl", "--json")
    rejected = next(c for c in json.loads(out)["checks"] if c["name"] == "silver: rejected events (24 h)")
    assert (code, rejected["value"], rejected["status"]) == (1, 2, "WARNING")
    assert "2 in all" in rejected["detail"]
    code, out, _ = _health(
        settings, "--only", "etl", "--json", HEALTH_REJECTED_EVENTS_24H_WARN=1, HEALTH_REJECTED_EVENTS_24H_CRIT=2
    )
    rejected = next(c for c in json.loads(out)["checks"] if c["name"] == "silver: rejected events (24 h)")
    assert (code, rejected["status"]) == (2, "CRITICAL")


def test_event_without_type_counts_as_a_sentinel_fact(settings, conn):
    _healthy_warehouse(conn)
    load_events(conn, [make_event("untyped", event_type=None)])
    run_etl(conn)
    checks = {c.name: c for c in run_checks(conn, settings.health_thresholds, only="etl")}
    assert checks["gold: sentinel facts"].value == 1
    assert "1 'Unknown' type" in checks["gold: sentinel facts"].detail
