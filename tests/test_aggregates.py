"""Gold aggregates (gold/07_aggregates.sql): exact, incremental, and equal to the specification's Q1/Q2."""

from datetime import date

import pytest
from conftest import make_event, query, real_data_files, scalar
from helpers import load_and_etl, run_etl

from ghdw.main import load_files
from ghdw.ops.queries import anchor, busiest_week_end, latest_event_day, sample_queries
from ghdw.process_gold import run_gold

pytestmark = pytest.mark.slow  # builds and rebuilds whole warehouses (make test-fast skips it)

RECOMPUTED_DAILY = """
SELECT date_id, COUNT(*), COUNT(DISTINCT actor_id), COUNT(DISTINCT repo_id)
  FROM gold.fact_events GROUP BY date_id ORDER BY date_id"""
RECOMPUTED_MONTHLY = """
SELECT make_date(date_id / 10000, date_id / 100 % 100, 1), repo_id, COUNT(*), COUNT(DISTINCT actor_id)
  FROM gold.fact_events GROUP BY 1, 2 ORDER BY 1, 2"""
STORED_DAILY = "SELECT date_id, total_events, unique_users, unique_repos FROM gold.agg_daily_activity ORDER BY 1"
STORED_MONTHLY = """
SELECT month_start, repo_id, total_events, contributors FROM gold.agg_monthly_repo_activity ORDER BY 1, 2"""


def stored(conn):
    return query(conn, STORED_DAILY), query(conn, STORED_MONTHLY)


def assert_aggregates_match_facts(conn):
    daily, monthly = stored(conn)
    assert daily == query(conn, RECOMPUTED_DAILY)
    assert monthly == query(conn, RECOMPUTED_MONTHLY)
    # the pair tables hold exactly the distinct pairs the counts were raised by
    assert scalar(conn, "SELECT COUNT(*) FROM gold.agg_daily_actors") == scalar(
        conn, "SELECT COUNT(*) FROM (SELECT DISTINCT date_id, actor_id FROM gold.fact_events) AS p"
    )
    assert scalar(conn, "SELECT COUNT(*) FROM gold.agg_monthly_repo_actors") == scalar(
        conn, "SELECT COALESCE(SUM(contributors), 0) FROM gold.agg_monthly_repo_activity"
    )


def test_aggregates_follow_the_facts_across_runs_sentinels_and_late_events(conn):
    load_and_etl(
        conn,
        [
            make_event("1", actor_id=1, repo_id=10, created_at="2024-06-08T10:00:00Z"),
            make_event("2", actor_id=2, repo_id=10, created_at="2024-06-08T11:00:00Z"),
            make_event("3", actor_id=1, repo_id=11, created_at="2024-06-09T09:00:00Z"),
        ],
    )
    assert query(conn, STORED_DAILY) == [(20240608, 2, 2, 1), (20240609, 1, 1, 1)]
    # the next batch repeats an actor and a repository of a day already counted, brings an
    # unknown actor (sentinel -1, counted once however often) and a late event from May
    load_and_etl(
        conn,
        [
            make_event("4", actor_id=1, repo_id=10, created_at="2024-06-08T12:00:00Z"),
            make_event("5", actor_id="not-a-number", repo_id=12, created_at="2024-06-08T13:00:00Z"),
            make_event("6", actor_id="also-bad", repo_id=12, created_at="2024-06-08T14:00:00Z"),
            make_event("7", actor_id=3, repo_id=10, created_at="2024-05-31T23:59:59Z"),
        ],
    )
    assert query(conn, STORED_DAILY) == [(20240531, 1, 1, 1), (20240608, 5, 3, 2), (20240609, 1, 1, 1)]
    assert query(conn, STORED_MONTHLY) == [
        (date(2024, 5, 1), 10, 1, 1),
        (date(2024, 6, 1), 10, 3, 2),
        (date(2024, 6, 1), 11, 1, 1),
        (date(2024, 6, 1), 12, 2, 1),
    ]
    assert_aggregates_match_facts(conn)


def test_rereading_silver_counts_no_fact_twice(conn):
    load_and_etl(conn, [make_event(str(i), actor_id=i % 3, repo_id=i % 2) for i in range(1, 11)])
    before = stored(conn)
    with conn.cursor() as cur:  # as if the watermark were lost: gold re-reads every silver row
        cur.execute("UPDATE gold.etl_watermark SET last_xid = '0'")
    conn.commit()
    notices = run_gold(conn)
    assert any("[4/4] fact_events: 0 rows" in n for n in notices)
    assert stored(conn) == before
    assert_aggregates_match_facts(conn)


def test_rebuild_recomputes_what_the_etl_maintained(conn):
    load_and_etl(
        conn,
        [
            make_event(str(i), actor_id=i % 7, repo_id=i % 5, created_at=f"2024-0{1 + i % 3}-1{i % 10}T00:00:00Z")
            for i in range(1, 60)
        ],
    )
    incremental = stored(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT gold.rebuild_aggregates()")
        assert cur.fetchone()[0] == 59
    conn.commit()
    assert stored(conn) == incremental
    assert_aggregates_match_facts(conn)


def top10_comparable(rows):
    """Q2's LIMIT 10 may cut through a tie: rows above the 10th count must match exactly; the
    counts themselves must match at every position."""
    cut = rows[-1][2] if rows else 0
    return [r[2] for r in rows], sorted(r for r in rows if r[2] > cut)


def test_fast_q1_q2_answer_exactly_like_the_specification_on_real_data(conn):
    files = real_data_files()
    if not files:
        pytest.skip("the recorded real events (../shared/data/real) are not available")
    load_files(conn, files)
    run_etl(conn)
    assert_aggregates_match_facts(conn)
    spec = {q.title: q.sql for q in sample_queries()}
    fast = {q.title: q.sql for q in sample_queries(fast=True)}
    q1, q2 = list(spec)[:2]
    assert spec[q1] != fast[q1] and spec[q2] != fast[q2] and list(spec)[2:] == list(fast)[2:]
    with conn.cursor() as cur:
        days = {latest_event_day(cur), busiest_week_end(cur)}
    conn.rollback()
    for as_of in sorted(days) + [date(2015, 1, 1)]:
        daily = query(conn, anchor(spec[q1], as_of))
        assert query(conn, anchor(fast[q1], as_of)) == daily
        top = query(conn, anchor(spec[q2], as_of))
        assert top10_comparable(query(conn, anchor(fast[q2], as_of))) == top10_comparable(top)
    assert daily and top  # 2015-01-01 lies in the recorded GH Archive hour


def test_setup_on_a_warehouse_from_before_the_aggregates_fills_them_once(conn):
    from ghdw.core import schema as setup_db

    load_and_etl(conn, [make_event(str(i), actor_id=i % 4, repo_id=i % 3) for i in range(1, 21)])
    with conn.cursor() as cur:  # the warehouse as an earlier release left it
        cur.execute(
            "DROP TABLE gold.agg_daily_actors, gold.agg_daily_repos, gold.agg_daily_activity, "
            "gold.agg_monthly_repo_actors, gold.agg_monthly_repo_activity"
        )
    conn.commit()
    setup_db.apply_schema(conn)
    assert query(conn, STORED_DAILY) == [(20240115, 20, 4, 3)]
    assert_aggregates_match_facts(conn)
    setup_db.apply_schema(conn)  # idempotent: a second setup neither refills nor doubles anything
    load_and_etl(conn, [make_event("21", actor_id=9, repo_id=9)])
    assert query(conn, STORED_DAILY) == [(20240115, 21, 5, 4)]
    assert_aggregates_match_facts(conn)


def test_fold_takes_its_facts_as_an_argument_and_gives_what_the_etl_maintained(conn):
    load_and_etl(
        conn,
        [
            make_event(str(i), actor_id=i % 7, repo_id=i % 5, created_at=f"2024-0{1 + i % 3}-1{i % 10}T00:00:00Z")
            for i in range(1, 60)
        ],
    )
    incremental = stored(conn)
    with conn.cursor() as cur:  # refold the facts in two halves from tables of any name
        cur.execute(
            "TRUNCATE gold.agg_daily_actors, gold.agg_daily_repos, gold.agg_daily_activity, "
            "gold.agg_monthly_repo_actors, gold.agg_monthly_repo_activity"
        )
        cur.execute("CREATE TEMP TABLE first_half AS SELECT * FROM gold.fact_events WHERE event_id::INT < 30")
        cur.execute('CREATE TEMP TABLE "Second Half" AS SELECT * FROM gold.fact_events WHERE event_id::INT >= 30')
        cur.execute("SELECT gold.fold_facts('first_half')")
        cur.execute("SELECT gold.fold_facts('\"Second Half\"')")
    conn.commit()
    assert stored(conn) == incremental
    assert_aggregates_match_facts(conn)
