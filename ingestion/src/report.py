"""Write a self-contained HTML report of the warehouse: `python ingestion/src/report.py --out report.html`

Charts (inline SVG, no script, no font or file fetched: it opens offline, mails as one file):
daily volume, top repositories, hour of day on weekdays vs weekends, event-type mix, and a
pipeline-health panel graded with health.py's thresholds. The numbers come from the same SQL
as the Metabase dashboard (dashboards/dashboard.json), read from gold only, so the read-only BI
role can run it. --as-of (default 'busiest': the end of the busiest week) anchors CURRENT_DATE
like analytics.py, so a warehouse of historical GH Archive hours still shows its data; --as-of
today shows the live windows as the dashboard does.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import db
from analytics import anchor, resolve_as_of
from config import REPO_ROOT
from health import STATUSES, warehouse_checks
from logger import start_process

MANIFEST = REPO_ROOT / "dashboards" / "dashboard.json"
QUESTIONS = {
    "daily": "Q1: Daily event volume (last 7 days)",
    "repos": "Q2: Top 10 repositories (this month)",
    "hourly": "Q3: Hourly pattern, weekday vs weekend (last 30 days)",
    "mix": "Event-type mix (last 30 days)",
}
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


def vertical_bars(chart_id: str, title: str, labels: list[str], values: list[float]) -> str:
    width, height, left, bottom, top = 640, 260, 56, 40, 16
    peak = max(values, default=0) or 1
    slot = (width - left - 10) / max(len(values), 1)
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
             f'stroke="{PALETTE["grid"]}"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">{_fmt(peak)}</text>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" class="axis">0</text>']
    for i, (label, value) in enumerate(zip(labels, values)):
        bar_height = (height - bottom - top) * value / peak
        x = left + i * slot + slot * 0.15
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{height - bottom - bar_height:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{bar_height:.1f}" fill="{PALETTE["bar"]}"><title>{_esc(label)}: {_fmt(value)}</title></rect>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'class="axis">{_esc(label)}</text>')
    return _figure(chart_id, title, width, height, parts, len(values))


def horizontal_bars(chart_id: str, title: str, labels: list[str], values: list[float], suffix: str = "") -> str:
    row, label_width, width = 26, 250, 640
    height = max(len(values), 1) * row + 10
    peak = max(values, default=0) or 1
    parts = []
    for i, (label, value) in enumerate(zip(labels, values)):
        y = 5 + i * row
        bar = (width - label_width - 90) * value / peak
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="label">{_esc(label)}</text>')
        parts.append(f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" '
                     f'fill="{PALETTE["bar"]}"><title>{_esc(label)}: {_fmt(value)}</title></rect>')
        parts.append(f'<text x="{label_width + bar + 6:.1f}" y="{y + 16}" class="value">{_fmt(value)}{suffix}</text>')
    return _figure(chart_id, title, width, height, parts, len(values))


def hourly_lines(chart_id: str, title: str, rows: list[tuple]) -> str:
    """Q3's rows (event_hour, is_weekend, events) as two 24-hour lines, each as a share of its total,
    so the shapes compare even though weekends have fewer days."""
    width, height, left, bottom, top = 640, 260, 40, 36, 16
    series = {False: [0.0] * 24, True: [0.0] * 24}
    for hour, is_weekend, events in rows:
        series[bool(is_weekend)][int(hour)] += events
    shares = {k: [100 * v / (sum(s) or 1) for v in s] for k, s in series.items()}
    peak = max(max(s) for s in shares.values()) or 1
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{PALETTE["grid"]}"/>']
    for hour in range(0, 24, 3):
        x = left + hour * (width - left - 10) / 23
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" class="axis">{hour:02d}h</text>')
    for is_weekend, name in ((False, "weekday"), (True, "weekend")):
        if not sum(series[is_weekend]):
            continue
        points = " ".join(f"{left + h * (width - left - 10) / 23:.1f},"
                          f"{height - bottom - (height - bottom - top) * v / peak:.1f}"
                          for h, v in enumerate(shares[is_weekend]))
        parts.append(f'<polyline class="series series-{name}" points="{points}" fill="none" '
                     f'stroke="{PALETTE[name]}" stroke-width="2.5"/>')
    legend = (f'<p class="legend"><span style="color:{PALETTE["weekday"]}">&#9632; weekdays</span> '
              f'<span style="color:{PALETTE["weekend"]}">&#9632; weekends</span> (share of each one\'s events per hour, UTC)</p>')
    return _figure(chart_id, title, width, height, parts, sum(1 for s in series.values() if sum(s)), legend)


def _figure(chart_id, title, width, height, parts, points, extra: str = "") -> str:
    body = "".join(parts) if points else \
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="empty">no data in this window</text>'
    return (f'<section class="chart"><h2>{_esc(title)}</h2>'
            f'<svg id="{chart_id}" data-points="{points}" role="img" aria-label="{_esc(title)}" '
            f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet">{body}</svg>{extra}</section>')


def health_panel(checks) -> str:
    tiles = []
    for c in checks:
        value = "-" if c.value is None else (f"{c.value:,.1f} {c.unit}".strip() if isinstance(c.value, float)
                                             else f"{c.value:,}")
        tiles.append(f'<div class="tile" data-status="{c.status}" style="border-color:{STATUS_COLOURS[c.status]}">'
                     f'<div class="tile-name">{_esc(c.name)}</div><div class="tile-value">{_esc(value)}</div>'
                     f'<div class="tile-status" style="color:{STATUS_COLOURS[c.status]}">{c.status}</div>'
                     f'<div class="tile-detail">{_esc(c.detail)}</div></div>')
    worst = STATUSES[max((c.code for c in checks), default=0)]
    return (f'<section class="chart" id="pipeline-health"><h2>Pipeline health: '
            f'<span style="color:{STATUS_COLOURS[worst]}">{worst}</span></h2><div class="tiles">{"".join(tiles)}</div></section>')


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1400px;color:#1f2933;background:#f7f9fb}
h1{margin:0 0 4px}.meta{color:#52606d;margin:0 0 20px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:18px}
.chart{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 16px}
.chart h2{font-size:16px;margin:4px 0 8px}
.axis{font-size:11px;fill:#52606d}.label{font-size:12px;fill:#1f2933}.value{font-size:11px;fill:#52606d}
.empty{font-size:14px;fill:#9aa5b1}.legend{font-size:12px;margin:4px 0 0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:10px}
.tile{border-left:6px solid;border-radius:4px;background:#fafbfc;padding:8px 10px}
.tile-name{font-size:12px;color:#52606d}.tile-value{font-size:22px;font-weight:600}
.tile-status{font-size:12px;font-weight:700}.tile-detail{font-size:11px;color:#7b8794}
"""


def build_report(conn, thresholds, as_of_option: str | None = "busiest") -> str:
    with conn.cursor() as cur:
        as_of = resolve_as_of(cur, as_of_option) if as_of_option != "today" else None
        data, sqls = {}, question_sqls(QUESTIONS.values())
        for key, name in QUESTIONS.items():
            cur.execute(anchor(sqls[name], as_of))
            data[key] = cur.fetchall()
        cur.execute("SELECT * FROM gold.v_pipeline_health")
        health_row = dict(zip([d.name for d in cur.description], cur.fetchone()))
        cur.execute("SELECT COUNT(*), MIN(event_time), MAX(event_time) FROM gold.fact_events")
        facts, first, last = cur.fetchone()
    conn.rollback()
    day = as_of or date.today()
    # Q1's window is open-ended ("since 7 days ago"); anchored in the past, stop it at the anchor.
    daily = [r for r in data["daily"] if r[0] <= day]
    charts = [
        vertical_bars("chart-daily-volume", f"Daily event volume since {day - timedelta(days=7)}",
                      [r[0].strftime("%d %b") for r in daily], [r[1] for r in daily]),
        horizontal_bars("chart-top-repositories", f"Top 10 repositories, {day:%B %Y}",
                        [r[0] for r in data["repos"]], [r[2] for r in data["repos"]]),
        hourly_lines("chart-hour-of-day", f"Hour of day, weekdays vs weekends, since {day - timedelta(days=30)}",
                     data["hourly"]),
        horizontal_bars("chart-event-types", f"Event-type mix since {day - timedelta(days=30)}",
                        [r[0] for r in data["mix"]], [float(r[3]) for r in data["mix"]], suffix=" %"),
    ]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    span = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC" if first else "no events yet"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>GitHub Events Warehouse report</title><style>{STYLE}</style></head><body>"
            "<h1>GitHub Events Warehouse</h1>"
            f"<p class=\"meta\">{_fmt(facts)} events in gold, {span}. Generated {generated}"
            + (f"; charts anchored on {as_of}" if as_of else "") + ".</p>"
            f"<div class=\"grid\">{''.join(charts)}</div>"
            f"<div style=\"margin-top:18px\">{health_panel(warehouse_checks(health_row, thresholds))}</div>"
            "</body></html>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "report.html")
    parser.add_argument("--as-of", default="busiest",
                        help="'busiest' (default: the end of the busiest week in gold), 'latest', 'today' or YYYY-MM-DD")
    args = parser.parse_args(argv)
    settings = start_process()
    with db.connection(settings) as conn:
        page = build_report(conn, settings.health_thresholds, args.as_of)
    args.out.write_text(page, encoding="utf-8")
    print(f"Wrote {args.out} ({len(page):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
