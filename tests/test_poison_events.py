"""No single value in an event stops the pipeline, and every event that does not reach gold is counted.

One poison event of each kind loads among good events: silver and gold complete, the good
events are in gold, each poison event is either rejected in silver with its reason, dead-lettered
by bronze with PostgreSQL's reason, or in gold on a documented sentinel with a sentinel_reason.
And the books balance: input = bronze + DLQ, bronze = silver, silver = gold facts + rejected.
"""

from __future__ import annotations

import random
import string

from conftest import make_event, query, scalar
from helpers import run_etl

from ghdw.bronze_loader import load_events
from ghdw.process_silver import run_silver

# btree refuses index entries above 2,704 bytes: 3,000 random (incompressible) characters is past it.
OVERSIZED = 3_000


def noise(length: int, seed: int) -> str:
    """Random letters: PostgreSQL cannot compress them below the btree limit."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters) for _ in range(length))


def without(event: dict, key: str) -> dict:
    event = dict(event)
    del event[key]
    return event


# event id -> (event, reject_reason). Each must stay out of gold, counted with that reason.
REJECTED = {
    "long-id-" + "x" * 93: (make_event("long-id-" + "x" * 93), "event id longer than 100 characters"),
    "type-oversized": (make_event("type-oversized", event_type=noise(OVERSIZED, 1)), "type longer than 100 characters"),
    "type-101": (make_event("type-101", event_type="E" * 101), "type longer than 100 characters"),
    "type-number": (make_event("type-number", event_type=42), "type is a JSON number, not a string"),
    "type-object": (make_event("type-object", event_type={"name": "PushEvent"}), "type is a JSON object, not a string"),
    "type-array": (make_event("type-array", event_type=["PushEvent"]), "type is a JSON array, not a string"),
    "type-boolean": (make_event("type-boolean", event_type=True), "type is a JSON boolean, not a string"),
    "type-control": (make_event("type-control", event_type="Push\nEvent"), "type contains control characters"),
    "time-missing": (make_event("time-missing", created_at=None), "created_at missing"),
    "time-null": (make_event("time-null", created_at=None) | {"created_at": None}, "created_at missing"),
    "time-number": (make_event("time-number", created_at=1705322096), "created_at is a JSON number, not a string"),
    "time-object": (
        make_event("time-object", created_at={"at": "2024-01-15"}),
        "created_at is a JSON object, not a string",
    ),
    "time-month-13": (
        make_event("time-month-13", created_at="2015-13-45"),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-feb-30": (
        make_event("time-feb-30", created_at="2023-02-30T01:00:00Z"),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-24-00-01": (
        make_event("time-24-00-01", created_at="2024-01-15T24:00:01Z"),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-date-only": (
        make_event("time-date-only", created_at="2024-01-15"),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-word": (make_event("time-word", created_at="now"), "created_at is not an ISO 8601 date and time"),
    "time-infinity": (
        make_event("time-infinity", created_at="infinity"),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-year-200000": (
        make_event("time-year-200000", created_at="200000-01-01T00:00:00Z"),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-oversized": (
        make_event("time-oversized", created_at="2024-01-15T00:00:00Z" + noise(OVERSIZED, 2)),
        "created_at is not an ISO 8601 date and time",
    ),
    "time-year-0001": (
        make_event("time-year-0001", created_at="0001-01-01T00:00:00Z"),
        "created_at outside 2008-01-01 .. 2099-12-31",
    ),
    "time-year-9999": (
        make_event("time-year-9999", created_at="9999-12-31T23:59:59Z"),
        "created_at outside 2008-01-01 .. 2099-12-31",
    ),
    "time-2100-by-offset": (
        make_event("time-2100-by-offset", created_at="2099-12-31T23:00:00-02:00"),
        "created_at outside 2008-01-01 .. 2099-12-31",
    ),
}

# event id -> (event, gold row (date_id, actor_id, repo_id, event_type, event_time), sentinel_reason)
MAX_BIGINT = 9_223_372_036_854_775_807
IN_GOLD = {
    "good-1": (make_event("good-1"), (20240115, 1, 10, "PushEvent", "2024-01-15 12:34:56"), None),
    "good-2": (
        make_event("good-2", event_type="WatchEvent", actor_id=2, repo_id=20, created_at="2024-01-16T08:00:00Z"),
        (20240116, 2, 20, "WatchEvent", "2024-01-16 08:00:00"),
        None,
    ),
    "type-missing": (
        without(make_event("type-missing"), "type"),
        (20240115, 1, 10, "Unknown", "2024-01-15 12:34:56"),
        "type missing: Unknown",
    ),
    "type-null": (
        make_event("type-null", event_type=None),
        (20240115, 1, 10, "Unknown", "2024-01-15 12:34:56"),
        "type missing: Unknown",
    ),
    "type-blank": (
        make_event("type-blank", event_type="  "),
        (20240115, 1, 10, "Unknown", "2024-01-15 12:34:56"),
        "type empty: Unknown",
    ),
    "type-100-emoji": (
        make_event("type-100-emoji", event_type="\U0001f642" * 100),
        (20240115, 1, 10, "\U0001f642" * 100, "2024-01-15 12:34:56"),
        None,
    ),
    "actor-19-digits-fit": (
        make_event("actor-19-digits-fit", actor_id=MAX_BIGINT),
        (20240115, MAX_BIGINT, 10, "PushEvent", "2024-01-15 12:34:56"),
        None,
    ),
    "actor-19-digits-string": (
        make_event("actor-19-digits-string", actor_id="1234567890123456789"),
        (20240115, 1234567890123456789, 10, "PushEvent", "2024-01-15 12:34:56"),
        None,
    ),
    "actor-overflow": (
        make_event("actor-overflow", actor_id=MAX_BIGINT + 1),
        (20240115, -1, 10, "PushEvent", "2024-01-15 12:34:56"),
        "actor.id larger than a BIGINT: -1",
    ),
    "actor-negative": (
        make_event("actor-negative", actor_id=-7),
        (20240115, -1, 10, "PushEvent", "2024-01-15 12:34:56"),
        "actor.id negative, not a GitHub id: -1",
    ),
    "actor-not-object": (
        make_event("actor-not-object") | {"actor": "octocat"},
        (20240115, -1, 10, "PushEvent", "2024-01-15 12:34:56"),
        "actor.id missing: -1",
    ),
    "repo-negative": (
        make_event("repo-negative", repo_id=-5),
        (20240115, 1, -1, "PushEvent", "2024-01-15 12:34:56"),
        "repo.id negative, not a GitHub id: -1",
    ),
    "repo-decimal": (
        make_event("repo-decimal", repo_id=10.5),
        (20240115, 1, -1, "PushEvent", "2024-01-15 12:34:56"),
        "repo.id not a whole number: -1",
    ),
    "repo-object": (
        make_event("repo-object", repo_id={"id": 10}),
        (20240115, 1, -1, "PushEvent", "2024-01-15 12:34:56"),
        "repo.id not a whole number: -1",
    ),
    "time-24-00": (
        make_event("time-24-00", created_at="2024-12-31T24:00:00Z"),
        (20250101, 1, 10, "PushEvent", "2025-01-01 00:00:00"),
        None,
    ),
    "time-offset": (
        make_event("time-offset", created_at="2024-01-15T20:30:00-08:00"),
        (20240116, 1, 10, "PushEvent", "2024-01-16 04:30:00"),
        None,
    ),
    "time-no-offset": (
        make_event("time-no-offset", created_at="2024-01-15T12:00:00"),
        (20240115, 1, 10, "PushEvent", "2024-01-15 12:00:00"),
        None,
    ),
    "time-2099": (
        make_event("time-2099", created_at="2099-12-31T23:59:59Z"),
        (20991231, 1, 10, "PushEvent", "2099-12-31 23:59:59"),
        None,
    ),
    "odd id \U0001f642 \u202e": (
        make_event("odd id \U0001f642 \u202e"),
        (20240115, 1, 10, "PushEvent", "2024-01-15 12:34:56"),
        None,
    ),
    "odd-login": (
        make_event("odd-login", actor_id=77, login="a\u202eb\U0001f642\n\t" + noise(OVERSIZED, 3)),
        (20240115, 77, 10, "PushEvent", "2024-01-15 12:34:56"),
        None,
    ),
    "oversized-names": (
        make_event(
            "oversized-names",
            repo_id=88,
            repo_name=noise(OVERSIZED, 4) + "/" + noise(OVERSIZED, 5),
            org={"login": noise(OVERSIZED, 6)},
        ),
        (20240115, 1, 88, "PushEvent", "2024-01-15 12:34:56"),
        None,
    ),
}

# Too long for bronze's own primary key: dead-lettered by the bronze loader with PostgreSQL's reason.
UNSTORABLE_ID = noise(OVERSIZED, 7)


def all_events() -> list[dict]:
    events = [e for e, *_ in IN_GOLD.values()] + [e for e, _ in REJECTED.values()]
    events.append(make_event(UNSTORABLE_ID))
    random.Random(8).shuffle(events)
    return events


def test_one_poison_event_of_each_kind_never_stops_silver_or_gold(conn):
    events = all_events()
    load_events(conn, events)
    run_etl(conn, batch_size=7)  # several silver batches, each with poison in it
    assert (
        scalar(
            conn,
            "SELECT COUNT(*) FROM bronze.raw_events b WHERE NOT EXISTS "
            "(SELECT 1 FROM silver.events s WHERE s.event_id = b.event_id)",
        )
        == 0
    )

    rejected = dict(query(conn, "SELECT event_id, reject_reason FROM silver.events WHERE reject_reason IS NOT NULL"))
    assert rejected == {event_id: reason for event_id, (_, reason) in REJECTED.items()}

    facts = {
        r[0]: r[1:]
        for r in query(
            conn,
            """SELECT event_id, date_id, actor_id, repo_id, event_type,
                                                        event_time::TEXT FROM gold.fact_events""",
        )
    }
    assert facts == {event_id: row for event_id, (_, row, _) in IN_GOLD.items()}
    sentinels = dict(query(conn, "SELECT event_id, sentinel_reason FROM silver.events WHERE reject_reason IS NULL"))
    assert sentinels == {event_id: reason for event_id, (_, _, reason) in IN_GOLD.items()}

    dead = query(conn, "SELECT event_id, error_message FROM bronze.dead_letter_queue")
    assert len(dead) == 1 and "index row size" in dead[0][1]

    # Reconciliation: nothing lost between the layers, everything that stopped is counted.
    bronze, dlq = scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events"), len(dead)
    silver = scalar(conn, "SELECT COUNT(*) FROM silver.events")
    assert bronze + dlq == len(events)
    assert silver == bronze
    assert silver == len(facts) + len(rejected)
    health = query(
        conn,
        "SELECT rejected_events, rejected_events_24h, unknown_type_facts, unknown_actor_facts, "
        "unknown_repo_facts, dlq_unresolved FROM gold.v_pipeline_health",
    )[0]
    assert health == (len(REJECTED), len(REJECTED), 3, 3, 3, 1)


def test_a_rerun_after_poison_changes_nothing_and_later_events_still_flow(conn):
    load_events(conn, all_events())
    run_etl(conn)
    before = query(conn, "SELECT COUNT(*), (SELECT COUNT(*) FROM gold.fact_events) FROM silver.events")
    run_etl(conn)
    assert query(conn, "SELECT COUNT(*), (SELECT COUNT(*) FROM gold.fact_events) FROM silver.events") == before
    load_events(conn, [make_event("after-the-poison", created_at="2024-02-01T00:00:00Z")])
    run_etl(conn)
    assert scalar(conn, "SELECT date_id FROM gold.fact_events WHERE event_id = 'after-the-poison'") == 20240201


# Every index on text in the warehouse, and the event field whose value reaches it. An index on
# text that is not listed here fails the test until it is: add its field to the poison load below.
TEXT_INDEXES_FED_BY_EVENTS = {
    "bronze.pk_raw_events": "id",
    "bronze.idx_raw_events_created_hour": "created_at",  # left(created_at, 13): bounded by itself
    "silver.pk_silver_events": "id",
    "gold.pk_dim_event_types": "type",
    "gold.pk_fact_events": "id",
    "gold.idx_fact_events_event_type": "type",
    # The payload details (silver/payloads.sql, gold/08_payload_facts.sql): keyed by the event id
    # silver has already bounded; their event_type is one of silver.payload_event_types().
    "silver.pk_silver_event_payloads": "id",
    "silver.idx_silver_event_payloads_malformed": "type",
    "gold.pk_fact_stars": "id",
    "gold.pk_fact_forks": "id",
    "gold.pk_fact_pull_request_events": "id",
    "gold.pk_fact_pull_request_reviews": "id",
    "gold.pk_fact_issue_events": "id",
    "gold.pk_fact_comments": "id",
    "gold.pk_fact_pushes": "id",
    "gold.pk_fact_releases": "id",
    "gold.pk_fact_refs": "id",
    "gold.pk_fact_members": "id",
    "gold.pk_fact_wiki_edits": "id",
}
TEXT_INDEXES_NOT_FED_BY_EVENTS = {
    "bronze.pk_backfill_files",  # file names backfill.py derives from GH Archive hours
    "bronze.uq_dead_letter_queue_entry",  # source (a file name, 255 bytes at most) and md5(raw_text)
    "silver.pk_silver_etl_watermark",  # the constant 'silver.events'
    "gold.pk_gold_etl_watermark",  # the constant 'gold.fact_events'
}


def test_every_indexed_text_column_survives_an_oversized_value(conn):
    indexed_text = {
        r[0]
        for r in query(
            conn,
            """
        SELECT DISTINCT n.nspname || '.' || ci.relname
          FROM pg_index AS i
          JOIN pg_class AS ci ON ci.oid = i.indexrelid
          JOIN pg_namespace AS n ON n.oid = ci.relnamespace
          JOIN pg_attribute AS a ON a.attrelid = ci.oid
         WHERE n.nspname IN ('bronze', 'silver', 'gold')
           AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'jsonb'::regtype,
                              'bytea'::regtype, 'name'::regtype)""",
        )
    }
    assert indexed_text == set(TEXT_INDEXES_FED_BY_EVENTS) | TEXT_INDEXES_NOT_FED_BY_EVENTS
    # The aggregates (gold/07_aggregates.sql) and the dimensions' keys besides the type are numeric.
    assert not {name for name in indexed_text if name.startswith("gold.agg_")}

    oversized = {
        "id": [
            make_event(noise(OVERSIZED, 10)),  # past bronze's own limit: dead-lettered there
            make_event(noise(2_000, 11)),
        ],  # fits bronze and silver, too long for gold
        "type": [make_event("big-type", event_type=noise(OVERSIZED, 12))],
        "created_at": [make_event("big-time", created_at=noise(OVERSIZED, 13))],
    }
    assert set(oversized) == set(TEXT_INDEXES_FED_BY_EVENTS.values())
    good = [make_event(f"good-{i}", created_at=f"2024-03-0{i}T10:00:00Z") for i in range(1, 4)]
    load_events(conn, good[:2] + [e for field in oversized.values() for e in field] + good[2:])
    run_etl(conn)
    assert sorted(r[0] for r in query(conn, "SELECT event_id FROM gold.fact_events")) == ["good-1", "good-2", "good-3"]
    assert scalar(conn, "SELECT COUNT(*) FROM silver.events WHERE reject_reason IS NOT NULL") == 3
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 1


def test_created_at_without_offset_is_utc_whatever_the_session_time_zone(conn):
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'America/Los_Angeles'")
    conn.commit()
    load_events(
        conn,
        [make_event("1", created_at="2024-01-15T23:30:00"), make_event("2", created_at="2024-01-15T23:30:00+01:00")],
    )
    run_silver(conn, 100)
    assert dict(query(conn, "SELECT event_id, event_time::TEXT FROM silver.events")) == {
        "1": "2024-01-15 23:30:00",
        "2": "2024-01-15 22:30:00",
    }


def test_silver_run_reports_how_many_rows_it_rejected(conn, caplog):
    load_events(conn, [make_event("ok"), make_event("bad", created_at="2015-13-45")])
    result = run_silver(conn, 100)
    assert (result.rows_inserted, result.rows_rejected) == (2, 1)
    assert "1 of them rejected" in caplog.text
