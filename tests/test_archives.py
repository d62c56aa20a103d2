"""Zip archives given to --source load each event file inside them as its own source; other binary
containers (tar, bzip2, xz, 7z, a gzipped tar) and broken zips are refused with one line, before
anything is loaded or dead-lettered."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import re
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


# -- binary files that are not archives: refused by their magic bytes or their control bytes ---
def _elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + bytes(range(256)) * 8


BINARIES = {
    "ELF": (lambda: _elf(), "an ELF executable"),
    "gzipped ELF": (lambda: gzip.compress(_elf()), "an ELF executable inside gzip"),
    "PNG": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "a PNG image"),
    "JPEG": (lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4, "a JPEG image"),
    "PDF": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20, "a PDF document"),
    "SQLite": (lambda: b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\x00" * 1000, "an SQLite database"),
    "PE": (lambda: b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 4, "a Windows (PE/MZ) executable"),
    "zip inside gzip": (lambda: gzip.compress(_zip_bytes()), "a zip archive inside gzip"),
    "unknown binary": (lambda: bytes(range(256)) * 16, "binary data"),
    "UTF-16 without a BOM": (lambda: json.dumps(EVENTS[:3]).encode("utf-16-le"), "binary data (NUL bytes"),
}


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("events.json", json.dumps(EVENTS[:3]))
    return buffer.getvalue()


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", BINARIES)
def test_a_binary_file_is_refused_with_one_line_naming_what_it_looks_like(settings, conn, tmp_path, kind, command):
    make, named = BINARIES[kind]
    path = tmp_path / ("events.json.gz" if "gzip" in kind else "events.json")  # the name says nothing
    path.write_bytes(make())
    result = run_cli(settings, *COMMANDS[command], str(path))
    assert result.returncode == 2, result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and named in lines[0] and "not loaded" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_a_binary_member_of_a_zip_is_refused_with_one_line(settings, conn, tmp_path, command):
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("good.json", json.dumps(EVENTS[:5]))
        zf.writestr("picture.json", BINARIES["PNG"][0]())
    result = run_cli(settings, *COMMANDS[command], str(archive))
    assert result.returncode == 2, result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and "mixed.zip/picture.json: looks like a PNG image" in lines[0], result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
@pytest.mark.parametrize("shape", ["array", "lines"])
def test_utf16_and_utf32_with_a_byte_order_mark_load_every_event(settings, conn, tmp_path, encoding, shape, command):
    events = EVENTS[:20]
    text = json.dumps(events, indent=2) if shape == "array" else "\n".join(json.dumps(e) for e in events) + "\n"
    bom = {"utf-16-be": "\ufeff", "utf-32-be": "\ufeff"}.get(encoding, "")  # utf-16/utf-32 write their own
    path = tmp_path / "events.json"
    path.write_bytes((bom + text).encode(encoding))
    result = run_cli(settings, *COMMANDS[command], str(path))
    assert result.returncode == 0, result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0
    assert {r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events")} == {str(e["id"]) for e in events}


def test_a_text_file_with_a_few_control_bytes_is_still_read_line_by_line(settings, conn, tmp_path):
    lines = [json.dumps(e) for e in EVENTS[:10]]
    lines[0] = '{"id": "nul", "type": "\x00\x01\x02"}'  # one bad line: that line's fault, not the file's
    path = tmp_path / "events.json"
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(settings, *COMMANDS["main"], str(path))
    assert result.returncode == 0, result.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 9
    assert query(conn, "SELECT source_line FROM bronze.dead_letter_queue") == [(1,)]


SHAPES = {
    "array on one line": lambda events: json.dumps(events),
    "pretty array": lambda events: json.dumps(events, indent=2),
    "JSON lines": lambda events: "\n".join(json.dumps(e) for e in events) + "\n",
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cut", [60, 3000, 30000])
def test_a_damaged_gzip_is_reported_as_what_was_loaded(settings, conn, tmp_path, shape, cut, command):
    path = tmp_path / "trunc.json.gz"
    path.write_bytes(gzip.compress(SHAPES[shape](EVENTS).encode())[:cut])
    result = run_cli(settings, *COMMANDS[command], str(path))
    assert result.returncode == 1, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "Partial trunc.json.gz" in line]
    reported = tuple(int(n) for n in re.search(r"(\d+) Inserted \| (\d+) Duplicates \| (\d+) Errors", line).groups())
    stored = (
        scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events"),
        0,
        scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue"),
    )
    assert reported == stored, result.stderr
