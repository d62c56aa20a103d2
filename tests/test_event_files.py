"""The input shapes real data comes in: JSON array, JSON lines, single object, gzip of each."""
import gzip
import json
import os

import pytest

from conftest import make_event, query, scalar
from event_files import InputDamaged, iter_file_chunks
from main import load_files

EVENTS = [make_event(str(i)) for i in range(1, 6)]


def write(path, text: str, compress=False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", ["array", "pretty_array", "json_lines", "single_object"])
def test_every_input_shape_loads(conn, tmp_path, shape, compress):
    events = EVENTS[:1] if shape == "single_object" else EVENTS
    text = {
        "array": json.dumps(events),
        "pretty_array": json.dumps(events, indent=2),
        "json_lines": "\n".join(json.dumps(e) for e in events) + "\n",
        "single_object": json.dumps(events[0], indent=4),
    }[shape]
    path = write(tmp_path / f"in.json{'.gz' if compress else ''}", text, compress)
    report, damaged = load_files(conn, [path])
    assert damaged == []
    assert (report.inserted, report.errors) == (len(events), 0)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE source = %s", (f"file:{path.name}",)) \
        == len(events)


def test_json_lines_bad_line_goes_to_dlq_not_a_crash(conn, tmp_path):
    path = write(tmp_path / "lines.json", json.dumps(EVENTS[0]) + "\nnot json at all\n" + json.dumps(EVENTS[1]) + "\n")
    report, damaged = load_files(conn, [path])
    assert (report.inserted, report.errors, damaged) == (2, 1, [])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [("not json at all", 2)]


def test_invalid_json_array_file_goes_to_dlq_whole(conn, tmp_path):
    path = write(tmp_path / "broken.json", '[{"id": "1"}, {"id": ')
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (0, 1)
    assert query(conn, "SELECT raw_text FROM bronze.dead_letter_queue") == [('[{"id": "1"}, {"id": ',)]
    assert scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue").startswith("invalid JSON")


def test_truncated_gzip_yields_the_good_part_then_reports_damage(tmp_path):
    lines = "".join(json.dumps(make_event(str(i), payload={"pad": os.urandom(200).hex()})) + "\n" for i in range(3000))
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) // 2])
    chunks = []
    with pytest.raises(InputDamaged):
        for chunk in iter_file_chunks(path, chunk_bytes=64 << 10):
            chunks.append(chunk)
    complete_lines = sum(c.data.count(b"\n") for c in chunks)
    assert 0 < complete_lines < 3000


def test_truncated_gzip_loads_what_precedes_the_damage(conn, tmp_path):
    lines = "".join(json.dumps(make_event(str(i), payload={"pad": os.urandom(200).hex()})) + "\n" for i in range(3000))
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) // 2])
    report, damaged = load_files(conn, [path])
    assert len(damaged) == 1 and "truncated" in damaged[0]
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") > 1000
