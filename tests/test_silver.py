"""Silver: typed rows from bronze in batches, an xid8 watermark that never skips a late commit."""

from conftest import make_event, query, scalar

from ghdw.bronze_loader import load_events
from ghdw.core import db
from ghdw.process_silver import run_silver


def test_silver_processes_in_batches_until_caught_up(conn):
    load_events(conn, [make_event(str(i)) for i in range(23)])
    result = run_silver(conn, batch_size=5)
    assert (result.rows_inserted, result.batches, result.caught_up) == (23, 5, True)
    assert scalar(conn, "SELECT COUNT(*) FROM silver.events") == 23
    assert run_silver(conn, batch_size=5).rows_inserted == 0


def test_silver_extracts_typed_columns(conn):
    load_events(
        conn,
        [
            make_event(
                "9",
                actor_id=42,
                login="ada",
                repo_id=7,
                repo_name="ada/engine",
                created_at="2024-03-05T06:07:08Z",
                org={"login": "analytical"},
            )
        ],
    )
    run_silver(conn, 100)
    row = query(
        conn,
        """SELECT event_type, actor_id, actor_login, repo_id, repo_name, org_login, is_public,
                                event_time::TEXT FROM silver.events""",
    )[0]
    assert row == ("PushEvent", "42", "ada", "7", "ada/engine", "analytical", True, "2024-03-05 06:07:08")


def test_unparseable_created_at_becomes_null_in_silver_without_failing_the_batch(conn):
    load_events(
        conn,
        [
            make_event("1", created_at="not a date"),
            make_event("2", created_at="2024-02-30T00:00:00Z"),
            make_event("3", created_at="now"),
            make_event("4", created_at=None),
            make_event("5", created_at="2024-02-29T10:00:00+02:00"),
        ],
    )
    run_silver(conn, 100)
    rows = dict(query(conn, "SELECT event_id, event_time::TEXT FROM silver.events"))
    assert rows == {"1": None, "2": None, "3": None, "4": None, "5": "2024-02-29 08:00:00"}


def test_silver_does_not_skip_a_row_committed_late_by_a_concurrent_transaction(settings, conn):
    slow = db.connect(settings)
    try:
        # The slow writer takes its transaction id first, then commits only after a faster writer.
        load_in_open_transaction(slow, make_event("slow"))
        load_events(conn, [make_event("fast")])
        run_silver(conn, 100)
        # "fast" committed, but an older transaction is still open: silver waits rather than
        # moving its watermark past rows that may still commit below it.
        assert query(conn, "SELECT event_id FROM silver.events") == []
        slow.commit()
        run_silver(conn, 100)
        assert sorted(r[0] for r in query(conn, "SELECT event_id FROM silver.events")) == ["fast", "slow"]
    finally:
        slow.close()


def load_in_open_transaction(connection, event):
    """Insert into bronze the way the loader does, but leave the transaction open."""
    import json

    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.raw_events (event_id, raw_data, source) VALUES (%s, %s, 'slow')",
            (event["id"], json.dumps(event)),
        )


def test_silver_cost_follows_new_rows_through_the_watermark_index(conn):
    load_events(conn, [make_event(str(i)) for i in range(50)])
    run_silver(conn, 1000)
    plan = "\n".join(
        r[0]
        for r in query(
            conn,
            """
        EXPLAIN SELECT b.raw_event_id FROM bronze.raw_events b
        WHERE (b.ingest_xid, b.raw_event_id) > ('1'::xid8, 0) AND b.ingest_xid < '999999'::xid8
        ORDER BY b.ingest_xid, b.raw_event_id LIMIT 5000""",
        )
    )
    assert "idx_raw_events_ingest_xid" in plan


BATCH_FIELDS = [
    "raw_event_id",
    "ingest_xid",
    "event_id",
    "ingested_at",
    "is_legacy",
    "type_json",
    "actor_json",
    "attributes_login_json",
    "repo_json",
    "org_json",
    "repository",
    "public_json",
    "created_at_json",
    # then the payload's typed columns (silver.read_payload(), in silver.event_payloads' order)
    "action",
    "item_number",
    "is_merged",
    "additions",
    "deletions",
    "changed_files",
    "commits",
    "item_created_at",
    "item_closed_at",
    "item_merged_at",
    "review_state",
    "item_title",
    "item_labels",
    "item_comments",
    "is_pull_request",
    "ref",
    "ref_type",
    "push_size",
    "push_distinct_size",
    "head_sha",
    "release_tag",
    "release_name",
    "is_prerelease",
    "fork_repo_id",
    "fork_repo_name",
    "member_login",
    "pages_count",
    "commit_sha",
    "malformed_fields",
]


def batch_table_columns(conn) -> list[str]:
    return [
        name
        for (name,) in query(
            conn,
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('pg_temp.silver_batch_fields') "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        )
    ]


def test_a_session_batch_table_of_another_shape_is_replaced_not_filled_by_position(conn):
    # A long-running process keeps its session's temp table across an upgrade: one of an older
    # shape (here actor and repository in the other order) must not take values by position.
    older = [*BATCH_FIELDS]
    older[6], older[8] = older[8], older[6]
    types = {"raw_event_id": "BIGINT", "ingest_xid": "XID8", "ingested_at": "TIMESTAMPTZ", "is_legacy": "BOOLEAN"}
    columns = ", ".join(f"{name} {types.get(name, 'TEXT' if name == 'event_id' else 'JSONB')}" for name in older)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE silver_batch_fields ({columns}) ON COMMIT DELETE ROWS")
    conn.commit()
    load_events(conn, [make_event("1", actor_id=42, login="ada", repo_id=7, repo_name="ada/engine")])
    run_silver(conn, 100)
    assert query(conn, "SELECT actor_id, actor_login, repo_id, repo_name FROM silver.events") == [
        ("42", "ada", "7", "ada/engine")
    ]
    assert batch_table_columns(conn) == BATCH_FIELDS


def test_the_session_batch_table_of_the_expected_shape_is_kept_between_batches(conn):
    load_events(conn, [make_event(str(i)) for i in range(4)])
    run_silver(conn, batch_size=2)
    table = scalar(conn, "SELECT to_regclass('pg_temp.silver_batch_fields')::OID")
    load_events(conn, [make_event(str(i)) for i in range(4, 8)])
    assert run_silver(conn, batch_size=2).rows_inserted == 4
    assert scalar(conn, "SELECT to_regclass('pg_temp.silver_batch_fields')::OID") == table
    assert batch_table_columns(conn) == BATCH_FIELDS


def test_the_payload_reading_is_inlined_and_no_batch_plan_caches_by_payload(conn):
    # silver.read_payload() runs once per event inside the batch's one pass over bronze: a call per
    # event (a function PostgreSQL cannot inline: STRICT, VOLATILE, a SET clause, more than one
    # statement) or a Memoize keyed by whole payloads makes silver many times slower.
    plan = "\n".join(
        row[0]
        for row in query(
            conn,
            """EXPLAIN SELECT p.* FROM bronze.raw_events AS b
                CROSS JOIN LATERAL silver.read_payload(b.raw_data ->> 'type', b.raw_data -> 'payload', NULL) AS p""",
        )
    )
    assert "read_payload" not in plan
    for function in (
        "silver.read_bronze_batch(xid8, bigint, xid8, bigint, integer)",
        "silver.ingest_batch_fields()",
        "silver.load_payload_batch()",
    ):
        assert "enable_memoize=off" in scalar(
            conn, f"SELECT proconfig FROM pg_proc WHERE oid = '{function}'::REGPROCEDURE"
        )
