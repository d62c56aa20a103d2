"""The schema has a version: setup applies the baseline, then warehouse/migrations/ in order, once
each, recorded in ghdw_meta.schema_migrations; a warehouse built before that table existed
(by the setup_db.py of the last release without it) is upgraded in place, its data kept."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
import tarfile

import pytest
from conftest import REPO_ROOT, make_event, query, scalar
from helpers import load_and_etl

from ghdw.core import db
from ghdw.core import schema as setup_db

# main just before the package (issue 12): the last setup_db.py that built warehouses without a
# schema version table. Its warehouses must upgrade in place.
LAST_UNVERSIONED_COMMIT = "40ca61fb137f1c7eb1a31e653e12b4c9e7409e49"


def versions(conn) -> list[int]:
    return [v for (v,) in query(conn, "SELECT version FROM ghdw_meta.schema_migrations ORDER BY 1")]


def test_migration_files_are_numbered_in_order_with_a_header():
    found = setup_db.migrations()
    assert [m.version for m in found] == list(range(2, 2 + len(found)))
    for migration in found:
        text = (REPO_ROOT / "warehouse" / migration.relative).read_text()
        assert text.startswith("-- ====="), f"{migration.relative} has no header comment"


@pytest.mark.slow
def test_a_new_warehouse_records_the_baseline_and_every_migration_once(empty_db):
    with db.connection(empty_db) as conn:
        setup_db.apply_schema(conn)
        expected = [1] + [m.version for m in setup_db.migrations()]
        assert versions(conn) == expected
        applied = setup_db.apply_schema(conn)  # a second run: the baseline again, no migration
        assert versions(conn) == expected
        assert not any(relative.startswith("migrations/") for relative, _ in applied)
        assert setup_db.schema_version(conn) == expected[-1]


@pytest.mark.slow
def test_a_warehouse_without_the_version_table_is_upgraded_in_place(empty_db):
    with db.connection(empty_db) as conn:
        setup_db.apply_schema(conn)
        load_and_etl(conn, [make_event("kept-1"), make_event("kept-2")])
        with conn.cursor() as cur:
            cur.execute("DROP SCHEMA ghdw_meta CASCADE")
        conn.commit()
        assert setup_db.schema_version(conn) is None
        conn.rollback()
        setup_db.apply_schema(conn)
        assert versions(conn) == [1] + [m.version for m in setup_db.migrations()]
        assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 2


def _load_with_that_release(conn, tree, events) -> None:
    """Events through that release's own pipeline (its bronze table, silver function and gold ETL):
    today's loaders may rely on schema that only the upgrade adds."""
    with conn.cursor() as cur:
        for event in events:
            cur.execute(
                "INSERT INTO bronze.raw_events (event_id, raw_data, source) VALUES (%s, %s, 'test')",
                (event["id"], json.dumps(event)),
            )
        conn.commit()
        cur.execute("SELECT * FROM silver.load_batch(1000)")
        conn.commit()
        conn.autocommit = True  # the ETL file holds its own BEGIN ... COMMIT
        try:
            cur.execute((tree / "warehouse" / "gold" / "etl" / "master_gold_etl.sql").read_text())
        finally:
            conn.autocommit = False


def _legacy_tree(tmp_path):
    """setup_db.py, ingestion/src and warehouse/ as LAST_UNVERSIONED_COMMIT had them."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    archive = subprocess.run(
        ["git", "archive", "--format=tar", LAST_UNVERSIONED_COMMIT, "setup_db.py", "ingestion/src", "warehouse"],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=60,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {LAST_UNVERSIONED_COMMIT[:7]} is not in this clone (shallow?)")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tmp_path / "legacy", filter="data")
    return tmp_path / "legacy"


@pytest.mark.slow
def test_a_warehouse_built_by_the_last_unversioned_release_upgrades_in_place(empty_db, tmp_path):
    legacy = _legacy_tree(tmp_path)
    env = {"DATABASE_URL": empty_db.database_url, "LOG_DIR": str(empty_db.log_dir), "PATH": "/usr/bin:/bin"}
    built = subprocess.run(
        [sys.executable, "setup_db.py"], cwd=legacy, env=env, capture_output=True, text=True, timeout=180
    )
    assert built.returncode == 0, built.stderr[-3000:]
    with db.connection(empty_db) as conn:
        assert setup_db.schema_version(conn) is None  # what that release built: no version table
        conn.rollback()
        _load_with_that_release(conn, legacy, [make_event("before-1"), make_event("before-2")])
        setup_db.apply_schema(conn)
        assert versions(conn) == [1] + [m.version for m in setup_db.migrations()]
        load_and_etl(conn, [make_event("after")])
        assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 3
        # The payload details of the events loaded before the upgrade were filled by migration 0011.
        assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_pushes") == 3
        assert scalar(conn, "SELECT COUNT(*) FROM silver.events WHERE reject_reason IS NOT NULL") == 0


def test_setup_names_a_recorded_migration_whose_number_this_release_gives_another_name(conn, caplog):
    # A build that numbered its migrations differently recorded another name under a version: setup
    # cannot apply this release's file of that number again, so it says so.
    with conn.cursor() as cur:
        cur.execute("UPDATE ghdw_meta.schema_migrations SET name = 'something_else' WHERE version = 12")
    conn.commit()
    with caplog.at_level(logging.WARNING, logger="ghdw"):
        setup_db.apply_schema(conn)
    lines = [
        r.getMessage() for r in caplog.records if "Migration 0012 is recorded as 'something_else'" in r.getMessage()
    ]
    assert len(lines) == 1 and "member_and_wiki_facts" in lines[0] and "psql -f" in lines[0]


def test_setup_after_an_upgrade_names_the_programs_still_connected(conn, settings, caplog):
    # The listener or scheduler keeps running the code it started with: setup tells the operator.
    with db.connection(settings) as other:  # a session of this program, as the scheduler holds
        with conn.cursor() as cur:
            cur.execute("DELETE FROM ghdw_meta.schema_migrations WHERE version = 14")
        conn.commit()
        with caplog.at_level(logging.WARNING, logger="ghdw"):
            setup_db.apply_schema(conn)
        with other.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
    lines = [r.getMessage() for r in caplog.records if "other session(s) of this program" in r.getMessage()]
    assert len(lines) == 1 and str(pid) in lines[0] and "restart them" in lines[0]
