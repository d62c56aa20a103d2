"""Print the specification's health checks and sample queries Q1-Q4 from the warehouse.

    python ingestion/src/analytics.py                 as written (CURRENT_DATE = today)
    python ingestion/src/analytics.py --as-of latest  anchored on the newest event day in gold,
                                                      for data that is not from this week (the sample)
    python ingestion/src/analytics.py --as-of busiest the end of the week with the most active days
    python ingestion/src/analytics.py --as-of 2019-06-01
    python ingestion/src/analytics.py --fast          Q1 and Q2 from the gold aggregates (same answers)

The query texts live in warehouse/queries/ exactly as the specification prints them; the
aggregate-backed Q1 and Q2 that the dashboards use live in warehouse/queries/fast/.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import date

from ghdw.core import db
from ghdw.core.lifecycle import exit_with
from ghdw.core.sqlfiles import load_sql, sql_path
from ghdw.logger import start_process

QUERIES_DIR = "queries"  # under warehouse/
FAST_QUERIES_DIR = "queries/fast"
SAMPLE_QUERIES = (
    ("Q1: Daily Event Volume (Last 7 Days)", "q1_daily_event_volume.sql"),
    ("Q2: Top 10 Most Active Repositories (This Month)", "q2_top_repositories.sql"),
    ("Q3: Hourly Activity Pattern (Weekday vs Weekend)", "q3_hourly_pattern.sql"),
    ("Q4: Auto-Discovered Event Types Pending Review", "q4_uncurated_event_types.sql"),
)
MAX_ROWS_SHOWN = 24


@dataclass
class NamedQuery:
    title: str
    sql: str


def sql_path_exists(relative: str) -> bool:
    try:
        sql_path(relative)
    except FileNotFoundError:
        return False
    return True


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()


def sample_queries(fast: bool = False) -> list[NamedQuery]:
    """Q1-Q4 as the specification prints them; with fast, Q1 and Q2 read the gold aggregates."""

    def text(name: str) -> str:
        fast_file = f"{FAST_QUERIES_DIR}/{name}"
        folder = FAST_QUERIES_DIR if fast and sql_path_exists(fast_file) else QUERIES_DIR
        return _strip_comments(load_sql(f"{folder}/{name}"))

    return [NamedQuery(title, text(name)) for title, name in SAMPLE_QUERIES]


def fast_queries() -> list[NamedQuery]:
    """Only the aggregate-backed Q1 and Q2, titled as such (for side-by-side timings)."""
    return [NamedQuery(f"{q.title} - fast, from the gold aggregates", q.sql) for q in sample_queries(fast=True)[:2]]


def health_queries() -> list[NamedQuery]:
    """The statements of health_checks.sql, each titled by the '-- name:' line above it."""
    text = load_sql(f"{QUERIES_DIR}/health_checks.sql")
    found = []
    for block in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        title, _, body = block.partition("\n")
        found.append(NamedQuery(title.strip(), _strip_comments(body)))
    return found


def anchor(sql: str, as_of: date | None) -> str:
    """Replace CURRENT_DATE with a fixed day, so the queries can look at historical data."""
    return sql if as_of is None else sql.replace("CURRENT_DATE", f"DATE '{as_of.isoformat()}'")


def aligned_lines(rows: list, separator: str, rule: str | None = None, pad_last: bool = True) -> list[str]:
    """The one table renderer: rows of text cells (the first row the header) as lines, each column
    padded to its widest cell (the last column too unless pad_last is false), joined by `separator`;
    with `rule`, a line of dashes joined by it under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1
    lines = [
        separator.join(cell.ljust(w) if pad_last or i < last else cell for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    if rule is not None:
        lines.insert(1, rule.join("-" * w for w in widths))
    return lines


def format_table(columns: list[str], rows: list[tuple]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows[:MAX_ROWS_SHOWN]]
    lines = aligned_lines([list(columns), *cells], " | ", rule="-+-")
    more = len(rows) - len(cells)
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{f', {more} not shown' if more > 0 else ''})")
    return "\n".join(lines)


def run_query(cur, query: NamedQuery, as_of: date | None) -> tuple[list[str], list[tuple]]:
    cur.execute(anchor(query.sql, as_of))
    return [d.name for d in cur.description], cur.fetchall()


def latest_event_day(cur) -> date | None:
    cur.execute("SELECT MAX(d.full_date) FROM gold.agg_daily_activity a JOIN gold.dim_date d ON d.date_id = a.date_id")
    return cur.fetchone()[0]


BUSIEST_WEEK_SQL = """
WITH per_day AS (
    SELECT d.full_date, a.total_events AS events
    FROM gold.agg_daily_activity a JOIN gold.dim_date d ON d.date_id = a.date_id
)
SELECT a.full_date
FROM per_day a JOIN per_day b ON b.full_date BETWEEN a.full_date - 7 AND a.full_date
GROUP BY a.full_date
ORDER BY COUNT(*) DESC, SUM(b.events) DESC, a.full_date DESC
LIMIT 1
"""


def busiest_week_end(cur) -> date | None:
    """The day whose 7-day window (as Q1 sees it) has the most active days, then events."""
    cur.execute(BUSIEST_WEEK_SQL)
    row = cur.fetchone()
    return row[0] if row else None


def resolve_as_of(cur, value: str | None) -> date | None:
    """--as-of: None (today), 'latest', 'busiest' or a YYYY-MM-DD day."""
    if value == "latest":
        return latest_event_day(cur)
    if value == "busiest":
        return busiest_week_end(cur)
    return date.fromisoformat(value) if value else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--as-of",
        default=None,
        help="'latest', 'busiest' (the busiest week) or YYYY-MM-DD: the day the sample queries treat as today",
    )
    parser.add_argument(
        "--fast", action="store_true", help="answer Q1 and Q2 from the gold aggregates (warehouse/queries/fast/)"
    )
    args = parser.parse_args(argv)
    settings = start_process()
    with db.connection(settings) as conn, conn.cursor() as cur:
        as_of = resolve_as_of(cur, args.as_of)
        print("\n=== Health checks ===")
        for query in health_queries():
            print(f"\n-- {query.title}")
            print(format_table(*run_query(cur, query, None)))
        print("\n=== Sample analytics queries" + (f" (CURRENT_DATE taken as {as_of})" if as_of else "") + " ===")
        for query in sample_queries(fast=args.fast):
            print(f"\n-- {query.title}")
            print(format_table(*run_query(cur, query, as_of)))
        conn.rollback()
    return 0


if __name__ == "__main__":
    exit_with(main)
