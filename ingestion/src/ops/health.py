"""Is the pipeline healthy? `python ingestion/src/health.py [--json] [--only listener|etl]`

Checks freshness (last poll of GitHub, last bronze insert, last gold load), the bronze backlog
not yet in silver, the dead-letter queue (size, newest entry), events silver rejected (kept out
of gold with a reason) in the last 24 h, sentinel facts, uncurated event types and suspected gaps
in the poll log, each against warning / critical thresholds from the
configuration (HEALTH_<CHECK>_WARN / _CRIT, see .env.example). It also prints the
specification's own health checks (warehouse/queries/health_checks.sql) unless --only is given.

Exit status: 0 healthy, 1 warning, 2 critical (also when the database cannot be reached).
    --only listener   the poll log only: what the bronze listener's role may read (its healthcheck)
    --only etl        freshness, backlog and data quality from gold.v_pipeline_health (the
                      scheduler's healthcheck; readable by the ETL and BI roles)
Every figure is an index probe or a bounded scan (gold.v_pipeline_health), so a check stays in
milliseconds on a warehouse of millions of events and is cheap enough for a 30 s healthcheck.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import psycopg2

from ghdw.core import db
from ghdw.core.lifecycle import exit_with, first_line
from ghdw.core.redaction import redact
from ghdw.core.sqlfiles import load_sql
from ghdw.logger import start_process
from ghdw.ops.queries import aligned_lines, health_queries

STATUSES = ("OK", "WARNING", "CRITICAL")

LISTENER_SQL = load_sql("queries/listener_health.sql")
WAREHOUSE_SQL = "SELECT * FROM gold.v_pipeline_health"


@dataclass
class Check:
    name: str
    value: float | None
    unit: str
    status: str
    warn: int
    crit: int
    detail: str

    @property
    def code(self) -> int:
        return STATUSES.index(self.status)


def _grade(value: float | None, warn: int, crit: int, missing: str = "WARNING") -> str:
    if value is None:
        return missing
    return "CRITICAL" if value >= crit else "WARNING" if value >= warn else "OK"


def _minutes_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round(max((now - moment).total_seconds(), 0) / 60, 1)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _age_check(name, moment, now, thresholds, key, what) -> Check:
    warn, crit = thresholds[key]
    minutes = _minutes_since(moment, now)
    detail = f"{what} {_when(moment)}" if moment else f"{what}: none yet"
    return Check(name, minutes, "min", _grade(minutes, warn, crit), warn, crit, detail)


def _count_check(name, value, thresholds, key, detail) -> Check:
    warn, crit = thresholds[key]
    return Check(name, value, "", _grade(value, warn, crit), warn, crit, detail)


def listener_checks(row: dict, thresholds) -> list[Check]:
    now = row["checked_at"]
    poll = _age_check(
        "listener: last poll of GitHub", row["last_poll_at"], now, thresholds, "poll_age_minutes", "last poll"
    )
    if row["last_poll_error"] and poll.status == "OK":
        poll.status, poll.detail = "WARNING", f"{poll.detail}; it failed: {redact(row['last_poll_error'])}"
    gaps = _count_check(
        "listener: suspected gaps (24 h)",
        row["suspected_gaps_24h"],
        thresholds,
        "suspected_gaps_24h",
        "polls with no overlap with the previous one: events may be missing (backfill.py fills them from GH Archive)",
    )
    return [poll, gaps]


def warehouse_checks(row: dict, thresholds) -> list[Check]:
    now = row["checked_at"]
    unknown = (row["unknown_actor_facts"] or 0) + (row["unknown_repo_facts"] or 0) + (row["unknown_type_facts"] or 0)
    return [
        _age_check(
            "bronze: last insert",
            row["last_bronze_insert_at"],
            now,
            thresholds,
            "bronze_age_minutes",
            "last event stored",
        ),
        _count_check(
            "silver: bronze backlog",
            row["bronze_backlog"],
            thresholds,
            "backlog_events",
            f"bronze events past silver's watermark (silver last ran {_when(row['last_silver_run_at'])})",
        ),
        _age_check(
            "gold: last load", row["last_gold_load_at"], now, thresholds, "gold_age_minutes", "last facts loaded"
        ),
        _count_check(
            "bronze: dead-letter queue",
            row["dlq_unresolved"],
            thresholds,
            "dlq_unresolved",
            f"unresolved entries; newest {_when(row['dlq_newest_at'])} (python ingestion/src/dlq.py list)",
        ),
        _count_check(
            "silver: rejected events (24 h)",
            row["rejected_events_24h"],
            thresholds,
            "rejected_events_24h",
            f"kept out of gold, each with a reason; {row['rejected_events']} in all, newest "
            f"{_when(row['rejected_newest_at'])} (SELECT reject_reason, COUNT(*) FROM silver.events "
            f"WHERE reject_reason IS NOT NULL GROUP BY 1)",
        ),
        _count_check(
            "gold: sentinel facts",
            unknown,
            thresholds,
            "unknown_facts",
            f"{row['unknown_actor_facts']} unknown actor, {row['unknown_repo_facts']} unknown repo, "
            f"{row['unknown_type_facts']} 'Unknown' type (silver.events.sentinel_reason)",
        ),
        _count_check(
            "gold: uncurated event types",
            row["uncurated_event_types"],
            thresholds,
            "uncurated_event_types",
            "auto-discovered types waiting for curation (Q4)",
        ),
    ]


def _fetch_one(conn, sql: str) -> dict:
    with conn.cursor() as cur:
        cur.execute(sql)
        names = [d.name for d in cur.description]
        row = dict(zip(names, cur.fetchone()))
    conn.rollback()
    return row


def run_checks(conn, thresholds, only: str | None = None) -> list[Check]:
    checks = []
    if only in (None, "listener"):
        checks += listener_checks(_fetch_one(conn, LISTENER_SQL), thresholds)
    if only in (None, "etl"):
        checks += warehouse_checks(_fetch_one(conn, WAREHOUSE_SQL), thresholds)
    return checks


def spec_checks(conn) -> list[tuple[str, list]]:
    """The specification's health-check statements, verbatim, with their result rows."""
    results = []
    with conn.cursor() as cur:
        for query in health_queries():
            cur.execute(query.sql)
            results.append((query.title, cur.fetchall()))
    conn.rollback()
    return results


def overall(checks: list[Check]) -> int:
    return max((c.code for c in checks), default=0)


def render_table(checks: list[Check]) -> str:
    def fmt(c: Check) -> str:
        if c.value is None:
            return "-"
        number = f"{c.value:,.1f}" if isinstance(c.value, float) else f"{c.value:,}"
        return f"{number} {c.unit}".strip()

    rows = [("CHECK", "VALUE", "STATUS", "WARN/CRIT", "DETAIL")]
    rows += [(c.name, fmt(c), c.status, f"{c.warn:,}/{c.crit:,}", c.detail) for c in checks]
    return "\n".join(aligned_lines(rows, "  ", pad_last=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="one JSON object for machines")
    parser.add_argument("--only", choices=("listener", "etl"), help="a service's own checks (healthchecks)")
    args = parser.parse_args(argv)
    settings = start_process()
    spec: list = []
    try:
        with db.connection(settings, wait=False) as conn:
            checks = run_checks(conn, settings.health_thresholds, args.only)
            if args.only is None:
                spec = spec_checks(conn)
    except psycopg2.Error as exc:
        reason = first_line(exc)
        # Printed, not logged: libpq's message can quote the connection string.
        checks = [Check("database: reachable", None, "", "CRITICAL", 0, 0, redact(reason))]
    code = overall(checks)
    if args.json:
        print(
            json.dumps(
                {
                    "status": STATUSES[code],
                    "exit_code": code,
                    "checks": [asdict(c) for c in checks],
                    "spec_checks": [{"title": t, "rows": rows} for t, rows in spec],
                },
                default=str,
            )
        )
        return code
    print(render_table(checks))
    for title, rows in spec:
        shown = ", ".join(" | ".join(str(v) for v in r) for r in rows) or "(no rows)"
        print(f"  spec check: {title}: {shown}")
    print(f"Overall: {STATUSES[code]} (exit {code})")
    return code


if __name__ == "__main__":
    exit_with(main)
