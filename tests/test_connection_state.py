"""run_silver and run_gold leave the caller's connection in the state they found it."""

import pytest
from conftest import make_event, scalar

from ghdw.bronze_loader import load_events
from ghdw.process_gold import run_gold
from ghdw.process_silver import run_silver


@pytest.mark.parametrize("autocommit", [False, True])
def test_run_silver_keeps_the_callers_autocommit_setting(conn, autocommit):
    load_events(conn, [make_event("1")], "test")
    conn.autocommit = autocommit
    assert run_silver(conn, 100).caught_up
    assert conn.autocommit is autocommit


@pytest.mark.parametrize("autocommit", [False, True])
def test_run_gold_keeps_the_callers_autocommit_setting_and_timeouts(conn, autocommit):
    load_events(conn, [make_event("1")], "test")
    run_silver(conn, 100)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET lock_timeout = '7s'")
    conn.autocommit = autocommit
    run_gold(conn, lock_timeout_seconds=30, statement_timeout_seconds=60)
    assert conn.autocommit is autocommit
    assert scalar(conn, "SELECT current_setting('lock_timeout')") == "7s"
    assert scalar(conn, "SELECT current_setting('statement_timeout')") == "0"
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 1
