"""The question suite: what people ask of GitHub events, answered from gold (issue 14).

    python ingestion/src/analytics.py --list-questions
    python ingestion/src/analytics.py --question stars_by_repository --json
    python ingestion/src/analytics.py --question stars_per_week --repo owner/name \
        --from 2015-01-01 --to 2015-01-31 --json

Each question is one SQL file in warehouse/queries/questions/<name>.sql whose header says what
it answers and its caveats. Every file takes the same three parameters: %(repo)s (a
repository's current name, or NULL for all), %(from_date_id)s and %(to_date_id)s (inclusive UTC
days as YYYYMMDD, or NULL for all time). The files read gold only, so they run as gh_bi.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from ghdw.core.sqlfiles import load_sql, warehouse_dir

QUESTIONS_DIR = "queries/questions"  # under warehouse/


def question_names() -> list[str]:
    return sorted(p.stem for p in (warehouse_dir() / QUESTIONS_DIR).glob("*.sql"))


def question_summary(name: str) -> str:
    """The first line of the file's header after the dash: what the question answers."""
    for line in load_sql(f"{QUESTIONS_DIR}/{name}.sql").splitlines():
        if line.startswith(f"-- questions/{name}.sql"):
            return line.partition(" — ")[2].strip()
    return ""


def date_id(day: dt.date | None) -> int | None:
    return None if day is None else day.year * 10000 + day.month * 100 + day.day


def question_params(repo: str | None, from_day: dt.date | None, to_day: dt.date | None) -> dict[str, Any]:
    if from_day and to_day and from_day > to_day:
        raise ValueError(f"--from {from_day} is after --to {to_day}")
    return {"repo": repo, "from_date_id": date_id(from_day), "to_date_id": date_id(to_day)}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def run_question(
    cur, name: str, repo: str | None = None, from_day: dt.date | None = None, to_day: dt.date | None = None
) -> list[dict[str, Any]]:
    """The question's rows as objects (column name -> JSON-ready value)."""
    if name not in question_names():
        raise KeyError(f"no question named {name!r}; known: {', '.join(question_names())}")
    cur.execute(load_sql(f"{QUESTIONS_DIR}/{name}.sql"), question_params(repo, from_day, to_day))
    columns = [d.name for d in cur.description]
    return [{c: _json_value(v) for c, v in zip(columns, row)} for row in cur.fetchall()]


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1)
