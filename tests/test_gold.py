"""Gold: the star schema, SCD guard, sentinels, auto-discovery, idempotence, all-or-nothing."""

import psycopg2
import pytest
from conftest import make_event, query, scalar
from helpers import load_and_etl, run_etl

from ghdw.process_gold import GoldEtlError, run_gold

GOLD_TABLES = (
    "gold.dim_date",
    "gold.dim_actors",
    "gold.dim_repos",
    "gold.dim_event_types",
    "gold.fact_events",
    "gold.etl_watermark",
    "gold.agg_daily_actors",
    "gold.agg_daily_repos",
    "gold.agg_daily_activity",
    "gold.agg_monthly_repo_actors",
    "gold.agg_monthly_repo_activity",
)


def snapshot(conn):
    return {t: query(conn, f"SELECT * FROM {t} ORDER BY 1") for t in GOLD_TABLES}


def test_events_land_in_the_star_schema(conn):
    notices = load_and_etl(
        conn,
        [
            make_event(
                "1", actor_id=5, login="linus", repo_id=8, repo_name="torvalds/linux", created_at="2024-06-08T13:14:15Z"
            )
        ],
    )
    assert query(conn, "SELECT event_id, date_id, actor_id, repo_id, event_type, event_hour FROM gold.fact_events") == [
        ("1", 20240608, 5, 8, "PushEvent", 13)
    ]
    assert query(conn, "SELECT repo_name, repo_owner, repo_project FROM gold.dim_repos WHERE repo_id = 8") == [
        ("torvalds/linux", "torvalds", "linux")
    ]
    assert scalar(conn, "SELECT is_weekend FROM gold.dim_date WHERE date_id = 20240608") is True
    assert any(n.startswith("[4/4] fact_events: 1 rows | Duration:") for n in notices)


def test_non_numeric_actor_or_repo_id_routes_to_sentinel_rows(conn):
    load_and_etl(
        conn,
        [
            make_event("1", actor_id="abc", repo_id=12),
            make_event("2", actor_id=3, repo_id="12x"),
            make_event("3", actor_id=None, repo_id="99999999999999999999999"),
        ],
    )
    rows = query(conn, "SELECT event_id, actor_id, repo_id FROM gold.fact_events ORDER BY 1")
    assert rows == [("1", -1, 12), ("2", 3, -1), ("3", -1, -1)]
    assert scalar(conn, "SELECT actor_login FROM gold.dim_actors WHERE actor_id = -1") == "unknownuser"


def test_19_digit_id_that_fits_bigint_is_kept_and_only_overflow_is_the_sentinel(conn):
    load_and_etl(
        conn,
        [
            make_event("fits", actor_id=9223372036854775807, repo_id="1000000000000000000"),
            make_event("overflows", actor_id=9223372036854775808, repo_id="99999999999999999999"),
        ],
    )
    rows = query(conn, "SELECT event_id, actor_id, repo_id FROM gold.fact_events ORDER BY 1")
    assert rows == [("fits", 9223372036854775807, 1000000000000000000), ("overflows", -1, -1)]


def test_event_without_usable_time_stays_out_of_gold_counted_with_its_reason(conn):
    load_and_etl(
        conn,
        [
            make_event("ok"),
            make_event("none", created_at=None),
            make_event("month-13", created_at="2015-13-45"),
            make_event("number", created_at=1705322096),
        ],
    )
    assert query(
        conn, "SELECT event_id, reject_reason FROM silver.events WHERE reject_reason IS NOT NULL ORDER BY 1"
    ) == [
        ("month-13", "created_at is not an ISO 8601 date and time"),
        ("none", "created_at missing"),
        ("number", "created_at is a JSON number, not a string"),
    ]
    assert scalar(conn, "SELECT rejected_events FROM gold.v_pipeline_health") == 3
    assert (
        scalar(conn, "SELECT COUNT(*) FROM silver.events") == scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") + 3
    )


def test_event_without_type_reaches_gold_as_unknown_counted_with_its_reason(conn):
    untyped = make_event("untyped")
    del untyped["type"]
    load_and_etl(conn, [make_event("typed"), untyped])
    assert scalar(conn, "SELECT event_type FROM gold.fact_events WHERE event_id = 'untyped'") == "Unknown"
    assert (
        scalar(conn, "SELECT sentinel_reason FROM silver.events WHERE event_id = 'untyped'") == "type missing: Unknown"
    )
    assert scalar(conn, "SELECT unknown_type_facts FROM gold.v_pipeline_health") == 1


def test_null_or_unparseable_created_at_never_reaches_gold(conn):
    load_and_etl(
        conn,
        [
            make_event("ok"),
            make_event("none", created_at=None),
            make_event("junk", created_at="yesterday-ish"),
            make_event("feb30", created_at="2023-02-30T01:00:00Z"),
        ],
    )
    assert [r[0] for r in query(conn, "SELECT event_id FROM gold.fact_events")] == ["ok"]
    assert scalar(conn, "SELECT COUNT(*) FROM silver.events WHERE event_time IS NULL") == 3
    assert scalar(conn, "SELECT COUNT(*) FROM silver.v_events WHERE event_time IS NULL") == 0


def test_late_event_does_not_overwrite_newer_actor_login(conn):
    load_and_etl(conn, [make_event("2", actor_id=7, login="new-login", created_at="2024-05-02T00:00:00Z")])
    load_and_etl(conn, [make_event("1", actor_id=7, login="old-login", created_at="2024-05-01T00:00:00Z")])
    assert query(conn, "SELECT actor_login, last_event_time::TEXT FROM gold.dim_actors WHERE actor_id = 7") == [
        ("new-login", "2024-05-02 00:00:00")
    ]
    load_and_etl(conn, [make_event("3", actor_id=7, login="newest", created_at="2024-05-03T00:00:00Z")])
    assert scalar(conn, "SELECT actor_login FROM gold.dim_actors WHERE actor_id = 7") == "newest"
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events WHERE actor_id = 7") == 3


def test_newest_event_in_one_batch_wins_for_actor_and_repo(conn):
    load_and_etl(
        conn,
        [
            make_event("1", actor_id=7, login="b", repo_name="o/b", created_at="2024-05-02T00:00:00Z"),
            make_event("2", actor_id=7, login="a", repo_name="o/a", created_at="2024-05-01T00:00:00Z"),
        ],
    )
    assert scalar(conn, "SELECT actor_login FROM gold.dim_actors WHERE actor_id = 7") == "b"
    assert scalar(conn, "SELECT repo_name FROM gold.dim_repos WHERE repo_id = 10") == "o/b"


def test_unknown_event_type_is_auto_discovered_as_uncurated(conn):
    load_and_etl(conn, [make_event("1", event_type="SponsorshipEvent")])
    assert query(
        conn, "SELECT is_curated, event_category FROM gold.dim_event_types WHERE event_type = 'SponsorshipEvent'"
    ) == [(False, "Uncategorized")]
    assert scalar(conn, "SELECT event_type FROM gold.fact_events") == "SponsorshipEvent"


def test_gold_rerun_changes_nothing(conn):
    load_and_etl(conn, [make_event(str(i), actor_id=i % 3, repo_id=i % 4) for i in range(20)])
    before = snapshot(conn)
    notices = run_etl(conn)
    assert any("[4/4] fact_events: 0 rows" in n for n in notices)
    after = snapshot(conn)
    assert after == before


def test_failure_mid_gold_rolls_back_every_table_and_the_watermark(conn):
    load_and_etl(conn, [make_event("1", actor_id=1, login="before")])
    before = snapshot(conn)
    from ghdw.bronze_loader import load_events
    from ghdw.process_silver import run_silver

    load_events(
        conn,
        [
            make_event("2", actor_id=1, login="after", created_at="2025-01-01T00:00:00Z"),
            make_event("3", actor_id=2, event_type="NeverSeenEvent", created_at="2031-01-01T00:00:00Z"),
        ],
    )
    run_silver(conn, 100)
    with conn.cursor() as cur:  # the fact insert, the last step, fails
        cur.execute("""CREATE FUNCTION gold.fail() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
                       CREATE TRIGGER trg_fail BEFORE INSERT ON gold.fact_events
                       FOR EACH ROW EXECUTE FUNCTION gold.fail();""")
    conn.commit()
    with pytest.raises(GoldEtlError, match="injected failure"):
        run_gold(conn)
    assert snapshot(conn) == before  # dims, dim_date extension, new type, facts, aggregates, watermark: rolled back
    with conn.cursor() as cur:
        cur.execute("DROP TRIGGER trg_fail ON gold.fact_events")
    conn.commit()
    run_gold(conn)  # the next run retries the same range
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 3
    assert scalar(conn, "SELECT actor_login FROM gold.dim_actors WHERE actor_id = 1") == "after"


def test_event_dated_2029_loads_and_extends_dim_date(conn):
    notices = load_and_etl(conn, [make_event("1", created_at="2029-07-04T10:00:00Z")])
    assert scalar(conn, "SELECT date_id FROM gold.fact_events") == 20290704
    assert scalar(conn, "SELECT full_date::TEXT FROM gold.dim_date WHERE date_id = 20290704") == "2029-07-04"
    assert any(n.startswith("dim_date: extended by 1 days") for n in notices)


def test_event_before_2010_loads(conn):
    load_and_etl(conn, [make_event("1", created_at="2008-04-10T10:00:00Z")])
    assert scalar(conn, "SELECT date_id FROM gold.fact_events") == 20080410


# --- fact_events' foreign keys: checked once per run, or row by row -------------------------------


def _add_row_trigger(conn):
    """A trigger of a DBA's own on fact_events (it counts the rows it saw): gold must let it fire."""
    with conn.cursor() as cur:
        cur.execute("""CREATE TABLE public.trigger_calls (n INT);
                       CREATE FUNCTION public.count_call() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN INSERT INTO public.trigger_calls VALUES (1); RETURN NEW; END $$;
                       CREATE TRIGGER trg_count AFTER INSERT ON gold.fact_events
                       FOR EACH ROW EXECUTE FUNCTION public.count_call();""")
    conn.commit()


@pytest.mark.parametrize("checks", ["once per run", "row by row (a trigger of its own on fact_events)"])
def test_a_key_missing_from_its_dimension_fails_the_run_with_the_constraints_error(conn, checks):
    load_and_etl(conn, [make_event("1", actor_id=5)])
    if checks.startswith("row by row"):
        _add_row_trigger(conn)
    with conn.cursor() as cur:  # an admin removed the unknown-actor sentinel the facts rely on
        cur.execute("DELETE FROM gold.dim_actors WHERE actor_id = -1")
    conn.commit()
    before = snapshot(conn)
    from ghdw.bronze_loader import load_events
    from ghdw.process_silver import run_silver

    load_events(conn, [make_event("2", actor_id="not-a-number"), make_event("3", actor_id=6)])
    run_silver(conn, 100)
    with pytest.raises(GoldEtlError) as failure:
        run_gold(conn)
    message = str(failure.value)
    assert 'violates foreign key constraint "fk_fact_events_actor_id"' in message
    assert 'Key (actor_id)=(-1) is not present in table "dim_actors"' in message
    assert snapshot(conn) == before  # nothing of the run committed, the watermark unmoved
    assert scalar(conn, "SHOW session_replication_role") == "origin"
    with conn.cursor() as cur:
        cur.execute("INSERT INTO gold.dim_actors (actor_id, actor_login) VALUES (-1, 'unknownuser')")
    conn.commit()
    run_gold(conn)  # the sentinel back: the same range loads
    assert query(conn, "SELECT event_id, actor_id FROM gold.fact_events ORDER BY 1") == [("1", 5), ("2", -1), ("3", 6)]
    if checks.startswith("row by row"):
        assert scalar(conn, "SELECT COUNT(*) FROM public.trigger_calls") == 2  # the DBA's trigger fired for each


def test_the_run_checks_every_key_of_its_facts_and_locks_their_dimension_rows(conn, settings):
    load_and_etl(conn, [make_event("1", actor_id=5, repo_id=8)])
    with conn.cursor() as cur:
        cur.execute("""CREATE TEMP TABLE run_rows AS
                       SELECT 20240101 AS date_id, 5::BIGINT AS actor_id, 8::BIGINT AS repo_id,
                              'PushEvent'::TEXT AS event_type""")
        cur.execute("SELECT gold.lock_fact_keys('pg_temp.run_rows')")
        from ghdw.core import db

        other = db.connect(settings)
        try:
            with other.cursor() as other_cur:  # the dimension rows are held until the run ends
                other_cur.execute("SET lock_timeout = '200ms'")
                with pytest.raises(psycopg2.errors.LockNotAvailable):
                    other_cur.execute("DELETE FROM gold.dim_repos WHERE repo_id = 8")
            other.rollback()
        finally:
            other.close()
        for column, value, dimension in [
            ("date_id", "30000101", "dim_date"),
            ("actor_id", "77", "dim_actors"),
            ("repo_id", "99", "dim_repos"),
            ("event_type", "'NoSuchEvent'", "dim_event_types"),
        ]:
            cur.execute("SAVEPOINT s")
            cur.execute(f"UPDATE run_rows SET {column} = {value}")
            with pytest.raises(psycopg2.errors.ForeignKeyViolation) as failure:
                cur.execute("SELECT gold.lock_fact_keys('pg_temp.run_rows')")
            assert failure.value.diag.constraint_name == f"fk_fact_events_{column}"
            assert f'is not present in table "{dimension}"' in failure.value.diag.message_detail
            cur.execute("ROLLBACK TO SAVEPOINT s")
    conn.rollback()


def test_a_dbas_further_foreign_key_on_fact_events_still_checks_every_row(conn):
    # The run skips the row triggers only when fact_events has nothing but its four keys' own
    # (and no rule: a rule would be skipped too).
    load_and_etl(conn, [make_event("1")])
    with conn.cursor() as cur:
        cur.execute("""CREATE TABLE public.formats (f TEXT PRIMARY KEY);
                       INSERT INTO public.formats VALUES ('legacy_timeline');
                       ALTER TABLE gold.fact_events ADD CONSTRAINT fk_dba_format FOREIGN KEY (event_format)
                             REFERENCES public.formats (f) NOT VALID;""")
    conn.commit()
    from ghdw.bronze_loader import load_events
    from ghdw.process_silver import run_silver

    load_events(conn, [make_event("2")])
    run_silver(conn, 100)
    with pytest.raises(GoldEtlError, match='violates foreign key constraint "fk_dba_format"'):
        run_gold(conn)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO public.formats VALUES ('modern')")
    conn.commit()
    run_gold(conn)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 2
