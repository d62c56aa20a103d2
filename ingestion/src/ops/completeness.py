"""Completeness of a range of hours: how many events bronze and gold hold per hour, and where
they came from (GH Archive, the listener, other files), so missing hours can be backfilled."""

from __future__ import annotations

from datetime import datetime

from ghdw.core.sqlfiles import load_sql
from ghdw.ops.queries import format_table

COMPLETENESS_SQL = load_sql("queries/completeness.sql")
# hour is UTC; archive_file is GH Archive's name of the file holding it (Pacific time before 2015).
COLUMNS = [
    "hour",
    "bronze_events",
    "gold_events",
    "from_archive",
    "from_listener",
    "coverage",
    "archive_file",
    "format",
]


def completeness(conn, first: datetime, last: datetime) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(COMPLETENESS_SQL, {"first": first, "last": last})
        rows = cur.fetchall()
    conn.rollback()
    return rows


def print_report(rows: list[tuple]) -> None:
    print(format_table(COLUMNS, rows))
    missing = [r[0] for r in rows if r[5] == "missing"]
    sample = [r[0] for r in rows if r[5] == "listener sample only"]
    print(
        f"{len(rows)} hours: {len(missing)} missing, {len(sample)} listener sample only"
        + (f"; missing: {', '.join(missing[:24])}{' ...' if len(missing) > 24 else ''}" if missing else "")
    )
