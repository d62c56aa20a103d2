"""Write a self-contained HTML report of the warehouse: `python ingestion/src/report.py --out report.html`

Charts (inline SVG, no script, no font or file fetched: it opens offline, mails as one file):
daily volume on a calendar axis (days without events drawn as 0), top repositories, hour of day
as the average weekday vs the average weekend day (one scale), event-type mix, every value
printed; and a pipeline-health panel made by health.py's own run_checks(), so the two always
agree. Daily volume, repositories and the mix come from the same SQL as the Metabase dashboard
(dashboards/dashboard.json); everything but the listener's checks reads gold only, so the
read-only BI role can run it (its panel then says the listener checks are not visible to it:
a warning, never a silent OK). `--out -` writes the page to stdout (docker compose run -T).
--as-of (default 'busiest': the end of the busiest week) anchors CURRENT_DATE
like analytics.py, so a warehouse of historical GH Archive hours still shows its data; --as-of
today shows the live windows as the dashboard does.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg2

from ghdw.config import PROJECT_DIR
from ghdw.core import db
from ghdw.core.lifecycle import exit_with, first_line
from ghdw.logger import start_process
from ghdw.ops.health import STATUSES, Check, overall, run_checks
from ghdw.ops.queries import anchor, resolve_as_of

MANIFEST = PROJECT_DIR / "dashboards" / "dashboard.json"
QUESTIONS = {
    "daily": "Q1: Daily event volume (last 7 days)",
    "repos": "Q2: Top 10 repositories (this month)",
    "mix": "Event-type mix (last 30 days)",
}
# The dashboard's windows: Q1 looks 7 days back, Q3 and the mix 30 days.
DAILY_WINDOW_DAYS = 7
HOURLY_WINDOW_DAYS = 30
# Q3's numbers, bounded on both sides (Q3 itself is open-ended after its start: with an anchor in
# the past it would count later events too), with the number of weekdays and weekend days the
# window shares with the data in gold, so that each series can be divided by its own days.
HOURLY_SQL = """
SELECT d.is_weekend, f.event_hour, COUNT(*) AS events
FROM gold.fact_events f
JOIN gold.dim_date d ON f.date_id = d.date_id
WHERE d.full_date BETWEEN %(first)s AND %(last)s
GROUP BY d.is_weekend, f.event_hour
"""
HOURLY_DAYS_SQL = """
WITH coverage AS (
    SELECT MIN(d.full_date) AS data_first, MAX(d.full_date) AS data_last
    FROM gold.agg_daily_activity a
    JOIN gold.dim_date d ON d.date_id = a.date_id
)
SELECT d.is_weekend, COUNT(*) AS days
FROM gold.dim_date d
CROSS JOIN coverage c
WHERE d.full_date BETWEEN GREATEST(%(first)s, c.data_first) AND LEAST(%(last)s, c.data_last)
GROUP BY d.is_weekend
"""
TICKS = 5  # about this many grid lines on a value axis
PALETTE = {"bar": "#2f6fb0", "weekday": "#2f6fb0", "weekend": "#e07b39", "grid": "#d9dee5", "text": "#1f2933"}
STATUS_COLOURS = {"OK": "#1e8e3e", "WARNING": "#c77700", "CRITICAL": "#c5221f"}


def question_sqls(names) -> dict[str, str]:
    """The SQL of the named dashboard questions, read from the manifest once."""
    manifest = {q["name"]: q for q in json.loads(MANIFEST.read_text(encoding="utf-8"))["questions"]}
    return {name: (MANIFEST.parent / manifest[name]["sql"]).read_text(encoding="utf-8") for name in names}


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def nice_ticks(peak: float, count: int = TICKS) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to the first tick at or above peak."""
    if peak <= 0:
        return [0, 1]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [round(i * step, 10) for i in range(math.ceil(peak / step - 1e-9) + 1)]


def _num(value: float) -> str:
    """A value for a label: whole numbers with separators, averages with up to two decimals."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def y_axis(ticks: list[float], left: int, right: int, top: int, bottom: int, title: str) -> list[str]:
    """Grid lines with their values on the left, and the axis title written up the side."""
    scale = (bottom - top) / ticks[-1]
    parts = []
    for tick in ticks:
        y = bottom - tick * scale
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>'
        )
        parts.append(f'<text class="axis y-tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(tick)}</text>')
    middle = (top + bottom) / 2
    parts.append(
        f'<text class="axis-title y-title" x="14" y="{middle:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.1f})">{_esc(title)}</text>'
    )
    return parts


def daily_bars(chart_id: str, title: str, first: date, last: date, counts: dict[date, float]) -> str:
    """One bar per calendar day from first to last, days without events drawn as 0: a time axis,
    so a quiet day shows as a gap in activity rather than vanishing from the chart."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    values = [counts.get(day, 0) for day in days]
    width, height, left, right, top, bottom = 640, 280, 70, 630, 24, 236
    ticks = nice_ticks(max(values, default=0))
    scale = (bottom - top) / ticks[-1]
    slot = (right - left) / max(len(days), 1)
    parts = y_axis(ticks, left, right, top, bottom, "events per day")
    for i, (day, value) in enumerate(zip(days, values)):
        bar_height = value * scale
        x = left + i * slot + slot * 0.15
        label = day.strftime("%a %d %b")
        parts.append(
            f'<rect class="bar" data-date="{day.isoformat()}" data-value="{value}" x="{x:.1f}" '
            f'y="{bottom - bar_height:.1f}" width="{slot * 0.7:.1f}" height="{bar_height:.1f}" '
            f'fill="{PALETTE["bar"]}"><title>{_esc(label)}: {_fmt(value)} events</title></rect>'
        )
        parts.append(
            f'<text class="value" x="{x + slot * 0.35:.1f}" y="{bottom - bar_height - 4:.1f}" '
            f'text-anchor="middle">{_fmt(value)}</text>'
        )
        parts.append(
            f'<text class="axis x-tick" x="{x + slot * 0.35:.1f}" y="{bottom + 16}" '
            f'text-anchor="middle">{_esc(label)}</text>'
        )
    parts.append(
        f'<text class="axis-title x-title" x="{(left + right) / 2:.0f}" y="{height - 4}" '
        f'text-anchor="middle">day (UTC)</text>'
    )
    return _figure(chart_id, title, width, height, parts, sum(1 for v in values if v))


def horizontal_bars(chart_id: str, title: str, labels: list[str], values: list[float], suffix: str = "") -> str:
    row, label_width, width = 26, 250, 640
    height = max(len(values), 1) * row + 10
    peak = max(values, default=0) or 1
    parts = []
    for i, (label, value) in enumerate(zip(labels, values)):
        y = 5 + i * row
        bar = (width - label_width - 90) * value / peak
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="label">{_esc(label)}</text>')
        parts.append(
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" '
            f'fill="{PALETTE["bar"]}"><title>{_esc(label)}: {_fmt(value)}</title></rect>'
        )
        parts.append(f'<text x="{label_width + bar + 6:.1f}" y="{y + 16}" class="value">{_fmt(value)}{suffix}</text>')
    return _figure(chart_id, title, width, height, parts, len(values))


def hourly_lines(chart_id: str, title: str, events: dict[bool, list[int]], days: dict[bool, int]) -> str:
    """Events per hour of day as the average over the window's weekdays and weekend days, both on one
    scale: a weekend with one event stays a low line next to weekdays with hundreds. Values are on
    the axis, in each point's tooltip and in the table under the chart."""
    rates = {kind: [count / days[kind] if days[kind] else 0.0 for count in events[kind]] for kind in (False, True)}
    width, height, left, right, top, bottom = 640, 280, 70, 630, 16, 236
    ticks = nice_ticks(max(max(r) for r in rates.values()))
    scale = (bottom - top) / ticks[-1]
    parts = y_axis(ticks, left, right, top, bottom, "events per hour, average day")
    step = (right - left) / 23
    for hour in range(0, 24, 3):
        parts.append(
            f'<text class="axis x-tick" x="{left + hour * step:.1f}" y="{bottom + 16}" '
            f'text-anchor="middle">{hour:02d}h</text>'
        )
    parts.append(
        f'<text class="axis-title x-title" x="{(left + right) / 2:.0f}" y="{height - 4}" '
        f'text-anchor="middle">hour of day (UTC)</text>'
    )
    shown = 0
    for is_weekend, name in ((False, "weekday"), (True, "weekend")):
        if not sum(events[is_weekend]):
            continue
        shown += 1
        points = [(left + h * step, bottom - v * scale) for h, v in enumerate(rates[is_weekend])]
        parts.append(
            f'<polyline class="series series-{name}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" '
            f'fill="none" stroke="{PALETTE[name]}" stroke-width="2.5"/>'
        )
        for hour, ((x, y), value) in enumerate(zip(points, rates[is_weekend])):
            parts.append(
                f'<circle class="point point-{name}" data-hour="{hour}" data-value="{value:.4f}" '
                f'cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[name]}"><title>{name}s {hour:02d}h: '
                f"{_num(round(value, 2))} events per hour ({events[is_weekend][hour]:,} in "
                f"{days[is_weekend]} days)</title></circle>"
            )
    legend = (
        f'<p class="legend"><span style="color:{PALETTE["weekday"]}">&#9632; weekdays</span> '
        f"({_count(sum(events[False]), 'event')} over {_count(days[False], 'weekday')}) "
        f'<span style="color:{PALETTE["weekend"]}">&#9632; weekend days</span> '
        f"({_count(sum(events[True]), 'event')} over {_count(days[True], 'weekend day')}). Each line is the events "
        f"of that hour divided by its number of days, so the two compare on one scale.</p>"
    )
    rows = "".join(
        f"<tr><td>{h:02d}h</td><td>{_num(round(rates[False][h], 2))}</td><td>{_num(round(rates[True][h], 2))}</td></tr>"
        for h in range(24)
    )
    table = (
        f'<details><summary>Values</summary><table class="values" id="{chart_id}-values">'
        f"<tr><th>hour (UTC)</th><th>weekday average</th><th>weekend-day average</th></tr>{rows}</table></details>"
    )
    return _figure(chart_id, title, width, height, parts, shown, legend + table)


def _figure(chart_id, title, width, height, parts, points, extra: str = "") -> str:
    body = (
        "".join(parts)
        if points
        else f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="empty">no data in this window</text>'
    )
    return (
        f'<section class="chart"><h2>{_esc(title)}</h2>'
        f'<svg id="{chart_id}" data-points="{points}" role="img" aria-label="{_esc(title)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet">{body}</svg>{extra}</section>'
    )


def health_panel(checks) -> str:
    tiles = []
    for c in checks:
        value = (
            "-"
            if c.value is None
            else (f"{c.value:,.1f} {c.unit}".strip() if isinstance(c.value, float) else f"{c.value:,}")
        )
        tiles.append(
            f'<div class="tile" data-status="{c.status}" style="border-color:{STATUS_COLOURS[c.status]}">'
            f'<div class="tile-name">{_esc(c.name)}</div><div class="tile-value">{_esc(value)}</div>'
            f'<div class="tile-status" style="color:{STATUS_COLOURS[c.status]}">{c.status}</div>'
            f'<div class="tile-detail">{_esc(c.detail)}</div></div>'
        )
    worst = STATUSES[overall(checks)]
    return (
        f'<section class="chart" id="pipeline-health"><h2>Pipeline health: '
        f'<span style="color:{STATUS_COLOURS[worst]}">{worst}</span></h2>'
        f'<div class="tiles">{"".join(tiles)}</div></section>'
    )


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1400px;color:#1f2933;
background:#f7f9fb}
h1{margin:0 0 4px}.meta{color:#52606d;margin:0 0 20px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:18px}
.chart{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 16px}
.chart h2{font-size:16px;margin:4px 0 8px}
.axis{font-size:11px;fill:#52606d}.axis-title{font-size:12px;fill:#1f2933}.label{font-size:12px;fill:#1f2933}.value{font-size:11px;fill:#52606d}
.empty{font-size:14px;fill:#9aa5b1}.legend{font-size:12px;margin:4px 0 0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:10px}
.tile{border-left:6px solid;border-radius:4px;background:#fafbfc;padding:8px 10px}
.tile-name{font-size:12px;color:#52606d}.tile-value{font-size:22px;font-weight:600}
.tile-status{font-size:12px;font-weight:700}.tile-detail{font-size:11px;color:#7b8794}
details{font-size:12px;margin-top:6px}table.values{border-collapse:collapse}
table.values td,table.values th{padding:1px 10px;text-align:right;border-bottom:1px solid #e4e7eb}
"""


def pipeline_checks(conn, thresholds) -> list[Check]:
    """Every check health.py makes, by the same function, so the panel and health.py agree. A role
    that may not read the listener's poll log (gh_bi reads gold only) gets a warning in their place:
    the report cannot vouch for what it cannot see."""
    try:
        return run_checks(conn, thresholds)
    except psycopg2.errors.InsufficientPrivilege as exc:
        conn.rollback()
        reason = first_line(exc)
        hidden = Check(
            "listener: checks not visible",
            None,
            "",
            "WARNING",
            0,
            0,
            f"role {conn.info.user} cannot read them ({reason}); health.py as gh_etl shows them",
        )
        return [hidden, *run_checks(conn, thresholds, only="etl")]


def hourly_data(cur, first: date, last: date):
    """(events per hour, days) for weekdays (False) and weekend days (True) between first and last;
    days counts only those within the span gold holds data for (a day before the first load is
    unknown, not quiet)."""
    events = {False: [0] * 24, True: [0] * 24}
    days = {False: 0, True: 0}
    cur.execute(HOURLY_SQL, {"first": first, "last": last})
    for is_weekend, hour, count in cur.fetchall():
        events[bool(is_weekend)][int(hour)] = count
    cur.execute(HOURLY_DAYS_SQL, {"first": first, "last": last})
    for is_weekend, count in cur.fetchall():
        days[bool(is_weekend)] = count
    return events, days


def build_report(conn, thresholds, as_of_option: str | None = "busiest") -> str:
    with conn.cursor() as cur:
        as_of = resolve_as_of(cur, as_of_option) if as_of_option != "today" else None
        data, sqls = {}, question_sqls(QUESTIONS.values())
        for key, name in QUESTIONS.items():
            cur.execute(anchor(sqls[name], as_of))
            data[key] = cur.fetchall()
        cur.execute("SELECT COUNT(*), MIN(event_time), MAX(event_time) FROM gold.fact_events")
        facts, first, last = cur.fetchone()
        day = as_of or date.today()
        hourly_first = day - timedelta(days=HOURLY_WINDOW_DAYS)
        events, days = hourly_data(cur, hourly_first, day)
    conn.rollback()
    checks = pipeline_checks(conn, thresholds)
    daily_first = day - timedelta(days=DAILY_WINDOW_DAYS)
    # Q1's window is open-ended ("since 7 days ago"); anchored in the past, stop it at the anchor.
    daily = {r[0]: r[1] for r in data["daily"] if daily_first <= r[0] <= day}
    charts = [
        daily_bars("chart-daily-volume", f"Daily event volume, {daily_first} to {day}", daily_first, day, daily),
        horizontal_bars(
            "chart-top-repositories",
            f"Top 10 repositories, {day:%B %Y} (events)",
            [r[0] for r in data["repos"]],
            [r[2] for r in data["repos"]],
        ),
        hourly_lines(
            "chart-hour-of-day", f"Hour of day, average weekday vs weekend day, {hourly_first} to {day}", events, days
        ),
        horizontal_bars(
            "chart-event-types",
            f"Event-type mix since {day - timedelta(days=HOURLY_WINDOW_DAYS)} (share of events)",
            [r[0] for r in data["mix"]],
            [float(r[3]) for r in data["mix"]],
            suffix=" %",
        ),
    ]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    span = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC" if first else "no events yet"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>GitHub Events Warehouse report</title><style>{STYLE}</style></head><body>"
        "<h1>GitHub Events Warehouse</h1>"
        f'<p class="meta">{_fmt(facts)} events in gold, {span}. Generated {generated}'
        + (f"; charts anchored on {as_of}" if as_of else "")
        + ".</p>"
        f'<div class="grid">{"".join(charts)}</div>'
        f'<div style="margin-top:18px">{health_panel(checks)}</div>'
        "</body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", default=str(PROJECT_DIR / "report.html"), help="the HTML file to write, or - for stdout"
    )
    parser.add_argument(
        "--as-of",
        default="busiest",
        help="'busiest' (default: the end of the busiest week in gold), 'latest', 'today' or YYYY-MM-DD",
    )
    args = parser.parse_args(argv)
    settings = start_process()
    with db.connection(settings) as conn:
        page = build_report(conn, settings.health_thresholds, args.as_of)
    if args.out == "-":
        sys.stdout.write(page)
        return 0
    Path(args.out).write_text(page, encoding="utf-8")
    print(f"Wrote {args.out} ({len(page):,} bytes)")
    return 0


if __name__ == "__main__":
    exit_with(main)
