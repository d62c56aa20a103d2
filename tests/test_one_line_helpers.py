"""The shared one-line error message and retry backoff (ghdw.core.lifecycle)."""

import psycopg2
import pytest

from ghdw.core.lifecycle import backoff_seconds, first_line


def test_first_line_of_an_error_is_its_first_line_or_its_class_name():
    assert first_line(ValueError("  bad value\nDETAIL: more  ")) == "bad value"
    assert first_line(ValueError("")) == "ValueError"


def test_first_line_prefers_the_servers_text_when_asked(conn):
    with conn.cursor() as cur, pytest.raises(psycopg2.Error) as caught:
        cur.execute("SELECT 1/0")
    conn.rollback()
    assert first_line(caught.value, pgerror=True) == "ERROR:  division by zero"
    assert first_line(caught.value) == "division by zero"


@pytest.mark.parametrize("attempt, cap", [(1, 30), (3, 30), (5, 30), (10, 120)])
def test_backoff_is_exponential_capped_and_jittered_over_its_upper_half(attempt, cap):
    ceiling = min(cap, 2**attempt)
    waits = [backoff_seconds(attempt, cap) for _ in range(200)]
    assert all(ceiling / 2 <= w <= ceiling for w in waits)


def test_load_sql_reads_a_file_again_once_an_upgrade_replaced_it(tmp_path, monkeypatch):
    # A long-running scheduler must not keep running the text it read before `git pull`.
    from ghdw.core.sqlfiles import load_sql

    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path))
    script = tmp_path / "gold.sql"
    script.write_text("SELECT 1;\n", encoding="utf-8")
    assert load_sql("gold.sql") == "SELECT 1;\n"
    assert load_sql("gold.sql") == "SELECT 1;\n"  # cached while unchanged
    script.write_text("SELECT 2; -- the upgraded release\n", encoding="utf-8")
    assert load_sql("gold.sql") == "SELECT 2; -- the upgraded release\n"
