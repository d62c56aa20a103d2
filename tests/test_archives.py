"""Zip archives given to --source load each event file inside them as its own source; other binary
containers (tar, bzip2, xz, 7z, a gzipped tar) and broken zips are refused with one line, before
anything is loaded or dead-lettered."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import tarfile
import zipfile

import pytest
from conftest import SAMPLE_FILE, query, scalar
from helpers import run_cli

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

EVENTS = json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))  # 450 real events
COMMANDS = {"main": ["ingestion/src/main.py", "--once", "--source"], "backfill": ["ingestion/src/backfill.py"]}


def bronze_by_source(conn) -> dict:
    return dict(query(conn, "SELECT source, COUNT(*) FROM bronze.raw_events GROUP BY source"))


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if " - ERROR - " in line]


def test_a_zip_of_two_real_event_files_loads_exactly_their_events(settings, conn, tmp_path):
    archive = tmp_path / "sample.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("first.json", json.dumps(EVENTS[:200], indent=2))  # an API response
        zf.writestr("second.jsonl", "\n".join(json.dumps(e) for e in EVENTS[200:]))  # GH Archive lines
    result = run_cli(settings, *COMMANDS["main"], str(archive))
    assert result.returncode == 0, result.stderr
    assert bronze_by_source(conn) == {"file:sample.zip/first.json": 200, "file:sample.zip/second.jsonl": 250}
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0
    assert {r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events")} == {str(e["id"]) for e in EVENTS}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_zip_with_a_nested_directory_and_a_non_event_member_loads_the_event_files_only(
    settings, conn, tmp_path, command
):
    archive = tmp_path / "mirror.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", "GH Archive sample, see https://www.gharchive.org\n")
        zf.writestr("2015/", "")
        zf.writestr("2015/01/events.json.gz", gzip.compress("\n".join(json.dumps(e) for e in EVENTS[:100]).encode()))
        zf.writestr("2015/02/more.json", json.dumps(EVENTS[100:150]))
    result = run_cli(settings, *COMMANDS[command], str(archive))
    assert result.returncode == 0, result.stderr
    assert "skipping member README.txt" in result.stderr
    assert bronze_by_source(conn) == {
        "file:mirror.zip/2015/01/events.json.gz": 100,
        "file:mirror.zip/2015/02/more.json": 50,
    }
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_a_corrupt_zip_is_refused_with_one_line_and_nothing_loaded(settings, conn, tmp_path, command):
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("events.json", json.dumps(EVENTS))
    archive = tmp_path / "cut.zip"
    archive.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])  # the central directory is gone
    result = run_cli(settings, *COMMANDS[command], str(archive))
    assert result.returncode == 2, result.stderr
    assert error_lines(result) == [
        line for line in error_lines(result) if "cut.zip: not a readable zip archive" in line
    ]
    assert len(error_lines(result)) == 1 and "Traceback" not in result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0


def _tar(tmp_path) -> bytes:
    events = tmp_path / "events.json"
    events.write_text(json.dumps(EVENTS[:10]))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        tf.add(events, arcname="events.json")
    return buffer.getvalue()


CONTAINERS = {
    "tar": lambda tmp_path: _tar(tmp_path),
    "bzip2": lambda tmp_path: bz2.compress(json.dumps(EVENTS[:10]).encode()),
    "xz": lambda tmp_path: lzma.compress(json.dumps(EVENTS[:10]).encode()),
    "7z": lambda tmp_path: b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(range(256)) * 4,
    "tar inside gzip": lambda tmp_path: gzip.compress(_tar(tmp_path)),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fmt", CONTAINERS)
def test_other_binary_containers_are_refused_with_one_line_naming_the_format(settings, conn, tmp_path, fmt, command):
    path = tmp_path / "events.json.data"  # the name says nothing: the bytes decide
    path.write_bytes(CONTAINERS[fmt](tmp_path))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(EVENTS[:5]))
    result = run_cli(settings, *COMMANDS[command], str(good), str(path))
    assert result.returncode == 2, result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and f"a {fmt.split(' inside ')[0]} archive" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 0  # checked before anything loads
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_an_input_that_does_not_exist_is_one_line_and_exit_2(settings, tmp_path, command):
    result = run_cli(settings, *COMMANDS[command], str(tmp_path / "missing.json.gz"))
    assert result.returncode == 2, result.stderr
    assert error_lines(result) and all("no such file or directory" in line for line in error_lines(result))
    assert len(error_lines(result)) == 1 and "Traceback" not in result.stderr
