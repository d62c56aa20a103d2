"""report.py: a self-contained HTML report from gold, rendered in headless Chromium with its charts."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import SAMPLE_FILE
from helpers import run_cli, run_etl
from main import load_files

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHARTS = ("chart-daily-volume", "chart-top-repositories", "chart-hour-of-day", "chart-event-types")
# Headless, offline, no sandbox (CI runs as root), nothing fetched in the background.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--disable-dev-shm-usage")


def decode_png(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and raw pixels of an 8-bit, non-interlaced PNG (Chromium's)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
            bpp = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
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
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                          report_file.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for chart in CHARTS:
        assert f'id="{chart}"' in dom.stdout
    assert dom.stdout.count('class="bar"') >= 10
    shot = tmp_path / "report.png"
    run = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                          "--window-size=1400,1600", report_file.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, bpp, pixels = decode_png(shot)
    assert (width, height) == (1400, 1600)
    background = pixels[:bpp]
    differing = sum(1 for i in range(0, len(pixels), bpp * 7) if pixels[i:i + bpp] != background)
    assert differing / (len(pixels) / (bpp * 7)) > 0.05, "the screenshot is (nearly) blank"
    # The bar colour of the charts is on screen, not only in the markup.
    bar = bytes.fromhex("2f6fb0")
    assert any(pixels[i:i + 3] == bar for i in range(0, len(pixels), bpp)), "no chart bars were painted"
