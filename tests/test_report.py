"""report.py: a self-contained HTML report from gold, rendered in headless Chromium with its charts."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import SAMPLE_FILE, make_event
from helpers import load_and_etl, run_cli, run_etl

from ghdw.main import load_files
from ghdw.ops import questions

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHARTS = ("chart-daily-volume", "chart-top-repositories", "chart-hour-of-day", "chart-event-types")
# Headless, offline, no sandbox (CI runs as root), nothing fetched in the background.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--disable-dev-shm-usage",
)


def decode_png(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and raw pixels of an 8-bit, non-interlaced PNG (Chromium's)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
            bpp = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, b"".join(rows)


@pytest.fixture
def report_file(settings, conn, tmp_path):
    load_files(conn, [SAMPLE_FILE])
    run_etl(conn)
    out = tmp_path / "report.html"
    result = run_cli(settings, "ingestion/src/report.py", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"Wrote {out}" in result.stdout
    return out


def test_report_is_self_contained_with_every_chart(report_file):
    page = report_file.read_text()
    for chart in CHARTS:
        match = re.search(rf'<svg id="{chart}" data-points="(\d+)"', page)
        assert match and int(match.group(1)) > 0, f"{chart} is missing or empty"
    assert 'id="pipeline-health"' in page and 'data-status="OK"' in page
    # Nothing to fetch: no script, stylesheet, image or font from anywhere.
    assert not re.search(r'<script|<link|<img|@import|url\(|src=|href="http', page)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
def test_report_renders_in_headless_chromium_with_its_charts(report_file, tmp_path):
    profile = tmp_path / "chromium-profile"
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", report_file.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    for chart in CHARTS:
        assert f'id="{chart}"' in dom.stdout
    assert dom.stdout.count('class="bar"') >= 10
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1400,1600",
            report_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, bpp, pixels = decode_png(shot)
    assert (width, height) == (1400, 1600)
    background = pixels[:bpp]
    differing = sum(1 for i in range(0, len(pixels), bpp * 7) if pixels[i : i + bpp] != background)
    assert differing / (len(pixels) / (bpp * 7)) > 0.05, "the screenshot is (nearly) blank"
    # The bar colour of the charts is on screen, not only in the markup.
    bar = bytes.fromhex("2f6fb0")
    assert any(pixels[i : i + 3] == bar for i in range(0, len(pixels), bpp)), "no chart bars were painted"


def _svg(page: str, chart_id: str) -> str:
    match = re.search(rf'<svg id="{chart_id}".*?</svg>', page, flags=re.DOTALL)
    assert match, f"{chart_id} is missing"
    return match.group(0)


def _events(day: str, hour: int, count: int, prefix: str) -> list[dict]:
    return [
        make_event(
            f"{prefix}-{day}-{hour}-{i}",
            actor_id=1 + i % 5,
            repo_id=10 + i % 3,
            created_at=f"{day}T{hour:02d}:{i % 60:02d}:00Z",
        )
        for i in range(count)
    ]


def test_daily_chart_is_a_calendar_axis_with_quiet_days_drawn_as_zero_and_values_printed(conn, settings):
    from ghdw.ops.report import build_report

    # Events on Monday 15 and Thursday 18 January 2024 only; the chart is anchored on the 18th.
    load_and_etl(conn, _events("2024-01-15", 10, 5, "a") + _events("2024-01-18", 11, 12, "b"))
    svg = _svg(build_report(conn, settings.health_thresholds, "2024-01-18"), "chart-daily-volume")
    bars = re.findall(r'<rect class="bar" data-date="([\d-]+)" data-value="(\d+)"', svg)
    assert bars == [
        ("2024-01-11", "0"),
        ("2024-01-12", "0"),
        ("2024-01-13", "0"),
        ("2024-01-14", "0"),
        ("2024-01-15", "5"),
        ("2024-01-16", "0"),
        ("2024-01-17", "0"),
        ("2024-01-18", "12"),
    ]
    assert re.findall(r'<text class="value"[^>]*>(\d+)</text>', svg) == ["0", "0", "0", "0", "5", "0", "0", "12"]
    assert re.findall(r'class="axis y-tick"[^>]*>([\d.,]+)<', svg)[0] == "0"
    assert "events per day" in svg and "day (UTC)" in svg


def test_hour_of_day_chart_compares_an_average_weekday_and_weekend_day_on_one_labelled_scale(conn, settings):
    from ghdw.ops.report import build_report

    # 82 events at 10h over the five weekdays of 15-19 January 2024, one event on Saturday 20th at 04h.
    weekday = [
        e
        for day, n in (
            ("2024-01-15", 17),
            ("2024-01-16", 17),
            ("2024-01-17", 16),
            ("2024-01-18", 16),
            ("2024-01-19", 16),
        )
        for e in _events(day, 10, n, "w")
    ]
    load_and_etl(conn, weekday + _events("2024-01-20", 4, 1, "s"))
    page = build_report(conn, settings.health_thresholds, "2024-01-20")
    svg = _svg(page, "chart-hour-of-day")
    points = {
        (kind, int(hour)): (float(value), float(cy))
        for kind, hour, value, cy in re.findall(
            r'<circle class="point point-(\w+)" data-hour="(\d+)" data-value="([\d.]+)" cx="[\d.]+" cy="([\d.]+)"', svg
        )
    }
    assert points[("weekday", 10)][0] == 82 / 5  # per weekday: the five days hold data
    assert points[("weekend", 4)][0] == 1.0  # one weekend day holds data, with one event
    # One scale: the lone weekend event is drawn far lower (larger y) than the weekday peak.
    assert points[("weekend", 4)][1] > points[("weekday", 10)][1]
    ticks = [float(t.replace(",", "")) for t in re.findall(r'class="axis y-tick"[^>]*>([\d.,]+)<', svg)]
    assert ticks[0] == 0 and ticks[-1] >= 82 / 5
    assert "events per hour, average day" in svg and "hour of day (UTC)" in svg
    assert "82 events over 5 weekdays" in page and "1 event over 1 weekend day" in page
    values = re.search(r'<table class="values" id="chart-hour-of-day-values">(.*?)</table>', page).group(1)
    assert "<tr><td>10h</td><td>16.4</td><td>0</td></tr>" in values
    assert "<tr><td>04h</td><td>0</td><td>1</td></tr>" in values


def test_health_panel_shows_every_check_of_health_py_with_the_same_status(report_file, settings):
    page = report_file.read_text()
    tiles = re.findall(r'<div class="tile" data-status="(\w+)"[^>]*><div class="tile-name">([^<]+)</div>', page)
    result = run_cli(settings, "ingestion/src/health.py", "--json")
    verdict = json.loads(result.stdout)
    assert [(c["status"], html.escape(c["name"])) for c in verdict["checks"]] == tiles
    headline = re.search(r"Pipeline health: <span[^>]*>(\w+)</span>", page).group(1)
    assert headline == verdict["status"]


def test_report_can_be_written_to_stdout(settings, conn):
    load_files(conn, [SAMPLE_FILE])
    run_etl(conn)
    result = run_cli(settings, "ingestion/src/report.py", "--out", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.endswith("</html>")


def test_report_repo_section_shows_one_repository_from_the_question_suite(settings, conn):
    load_files(conn, [SAMPLE_FILE])
    run_etl(conn)
    with conn.cursor() as cur:
        rows = questions.run_question(cur, "stars_by_repository") or questions.run_question(
            cur, "commits_by_repository"
        )
    conn.rollback()
    repo = rows[0]["repo_name"]
    result = run_cli(settings, "ingestion/src/report.py", "--out", "-", "--repo", repo)
    assert result.returncode == 0, result.stderr
    page = result.stdout
    assert f"<h2>Repository {html.escape(repo)}</h2>" in page
    for chart in ("chart-repo-totals", "chart-repo-stars", "chart-repo-prs_opened", "chart-repo-commits"):
        assert f'id="{chart}"' in page, chart


def test_report_repo_section_says_so_when_a_repository_has_no_activity(settings, conn):
    load_files(conn, [SAMPLE_FILE])
    run_etl(conn)
    result = run_cli(settings, "ingestion/src/report.py", "--out", "-", "--repo", "nobody/nothing")
    assert result.returncode == 0, result.stderr
    assert "No stars, forks, pull requests, issues, pushes or releases in gold." in result.stdout
