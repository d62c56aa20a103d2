"""The input shapes real data comes in: JSON array, JSON lines, single object, gzip of each."""

import gzip
import json
import os

import pytest
from conftest import make_event, query, real_data_files, scalar

from ghdw.main import load_files
from ghdw.sources.event_files import InputDamaged, iter_file_chunks

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

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
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events WHERE source = %s", (f"file:{path.name}",)) == len(
        events
    )


def test_json_lines_bad_line_goes_to_dlq_not_a_crash(conn, tmp_path):
    path = write(tmp_path / "lines.json", json.dumps(EVENTS[0]) + "\nnot json at all\n" + json.dumps(EVENTS[1]) + "\n")
    report, damaged = load_files(conn, [path])
    assert (report.inserted, report.errors, damaged) == (2, 1, [])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [("not json at all", 2)]


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_array_file_loads_the_complete_elements_and_dead_letters_the_rest(conn, tmp_path, compress):
    path = write(tmp_path / "broken.json", '[{"id": "1"}, {"id": ', compress)
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (1, 1)
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [('{"id": ', 1)]
    assert scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue").startswith("invalid JSON")


PRETTY_ELEMENTS = [json.dumps(make_event(str(i)), indent=2) for i in range(1, 8)]


@pytest.mark.parametrize(
    "broken_fourth, loaded, damage, reason",
    [
        # the file ends there: the rest is the damage
        (lambda e: e[: len(e) // 2] + "\0", 3, lambda e: e[: len(e) // 2], "input ends inside"),
        # brackets mismatch: that element's lines only, the ones after it load
        (lambda e: e.replace("}", "]", 1), 6, lambda e: e.replace("}", "]", 1) + ",", "does not close"),
        # a missing comma: the element after the first copy (its lines) is the damage
        (lambda e: e + " " + e, 7, lambda e: e + ",", "expected ',' or ']'"),
    ],
)
def test_broken_pretty_array_costs_the_damaged_element_only(conn, tmp_path, broken_fourth, loaded, damage, reason):
    elements = PRETTY_ELEMENTS[:3] + [broken_fourth(PRETTY_ELEMENTS[3])] + PRETTY_ELEMENTS[4:]
    text = "[\n" + ",\n".join(elements) + "\n]\n"
    text = text[: text.find("\0")] if "\0" in text else text
    report, damaged = load_files(conn, [write(tmp_path / "broken.json", text)])
    assert damaged == []
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == loaded
    ((raw, message, line),) = query(conn, "SELECT raw_text, error_message, source_line FROM bronze.dead_letter_queue")
    assert message.startswith("invalid JSON") and reason in message
    assert raw == damage(PRETTY_ELEMENTS[3])
    assert line == text.count("\n", 0, text.rindex(raw)) + 1  # the damage's first line


GOOD_LINES = [json.dumps(make_event(str(i))) for i in range(1, 21)]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "first_line",
    [
        '{"id": "x", "type": "PushEvent", "actor": {"id": 1, "login": "oc',  # truncated in a string
        '{"id": "x", "type": "PushEvent", "payload": {"commits": [',  # truncated after a bracket
        '{"id": "x", "type":',  # truncated after a colon
        '{"id": "x"',  # truncated after a value
        "this is not JSON",
        '{"id": "x", "payload": ' + "[" * 10_000 + "]" * 10_000 + ", }",  # deep, and invalid
        '"just a string"',
    ],
)
def test_a_bad_first_line_costs_that_line_only(conn, tmp_path, first_line, compress):
    path = write(tmp_path / "lines.json", "\n".join([first_line] + GOOD_LINES) + "\n", compress)
    report, damaged = load_files(conn, [path])
    assert (report.inserted, report.errors, damaged) == (20, 1, [])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [(first_line, 1)]


def test_several_bad_lines_at_the_start_cost_those_lines_only(conn, tmp_path):
    bad = ['{"id": "x", "type":', "garbage", '{"id": "y", "payload": {', '{"z": [1, 2', "]"]
    path = write(tmp_path / "lines.json", "\n".join(bad + GOOD_LINES) + "\n")
    report, _ = load_files(conn, [path])
    assert report.inserted == 20
    # The last two lines are one value broken across them: one entry, from its first line.
    assert query(conn, "SELECT source_line, raw_text FROM bronze.dead_letter_queue ORDER BY source_line") == [
        (1, bad[0]),
        (2, bad[1]),
        (3, bad[2]),
        (4, bad[3] + "\n" + bad[4]),
    ]


def test_json_lines_whose_first_line_is_an_array_load_its_events_and_every_line(conn, tmp_path):
    first = json.dumps([make_event("a"), make_event("b")])
    path = write(tmp_path / "lines.json", "\n".join([first] + GOOD_LINES) + "\n")
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (22, 0)


def test_json_lines_whose_first_line_is_an_array_of_non_events_dead_letter_its_elements(conn, tmp_path):
    path = write(tmp_path / "lines.json", "\n".join(["[1, 2]"] + GOOD_LINES) + "\n")
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (20, 2)


@pytest.mark.parametrize("compress", [False, True])
def test_json_lines_with_bom_crlf_and_blank_lines_load_every_event(conn, tmp_path, compress):
    lines = (
        ["\ufeff" + GOOD_LINES[0], "", "   ", "\t"]
        + GOOD_LINES[1:10]
        + ["\ufeff" + GOOD_LINES[10]]
        + GOOD_LINES[11:]
        + ["not json", ""]
    )
    path = write(tmp_path / "lines.json", "\r\n".join(lines) + "\r\n", compress)
    report, damaged = load_files(conn, [path])
    assert (report.inserted, report.errors, damaged) == (20, 1, [])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [("not json", len(lines) - 1)]


def test_json_lines_with_a_bad_line_keep_real_line_numbers_after_blank_lines(conn, tmp_path):
    path = write(tmp_path / "lines.json", "\n\n" + GOOD_LINES[0] + "\n\n{broken\n" + GOOD_LINES[1] + "\n")
    load_files(conn, [path])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [("{broken", 5)]


def test_concatenated_pretty_and_compact_objects_load(conn, tmp_path):
    text = (
        json.dumps(make_event("1"), indent=2)
        + "\n"
        + json.dumps(make_event("2"), indent=4)
        + json.dumps(make_event("3"))
        + json.dumps(make_event("4"))
        + "\n"
    )
    report, _ = load_files(conn, [write(tmp_path / "objects.json", text)])
    assert (report.inserted, report.errors) == (4, 0)


@pytest.mark.parametrize("bad", [1, 3])
def test_an_invalid_element_of_a_pretty_array_costs_that_element_only(conn, tmp_path, bad):
    text = json.dumps([make_event(str(i)) for i in range(1, 6)], indent=2).replace(f'"id": "{bad}"', '"id": NaN')
    report, _ = load_files(conn, [write(tmp_path / "array.json", text)])
    assert (report.inserted, report.errors) == (4, 1)
    element_line = text.count("\n", 0, text.rindex("\n  {", 0, text.index('"id": NaN'))) + 2
    assert scalar(conn, "SELECT source_line FROM bronze.dead_letter_queue") == element_line  # its real line


def test_recorded_real_files_load_exactly_their_events(conn, tmp_path):
    for path in real_data_files():
        text = path.read_text(encoding="utf-8")
        try:
            value = json.loads(text)
            events = value if isinstance(value, list) else [value]
        except ValueError:
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
        chunks = list(iter_file_chunks(path))
        loaded = [json.loads(line) for c in chunks for line in c.data.split(b"\n") if line.strip()]
        assert loaded == events, path.name
        assert not any(c.rejects for c in chunks), path.name
    report, damaged = load_files(conn, real_data_files())
    assert (report.errors, damaged) == (0, [])


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


ARRAY_EVENTS = [json.dumps(make_event(f"arr-{i}")) for i in range(1, 7)]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("opening", ["bracket_alone", "bracket_with_first_element"])
def test_an_array_with_one_element_per_line_and_a_broken_first_element_loads_the_others(
    conn, tmp_path, newline, opening
):
    elements = ['{"id": "x" "type": 1}'] + ARRAY_EVENTS
    body = ("," + newline).join(elements)
    text = ("[" + newline + body + newline + "]" if opening == "bracket_alone" else "[" + body + "]") + newline
    path = write(tmp_path / "array.json", text)
    report, damaged = load_files(conn, [path])
    assert (report.inserted, report.errors, damaged) == (6, 1, [])
    assert query(conn, "SELECT raw_text FROM bronze.dead_letter_queue") == [(elements[0],)]


def test_a_pretty_printed_event_among_json_lines_loads_as_one_event(conn, tmp_path):
    lines = [
        json.dumps(make_event("p1")),
        json.dumps(make_event("p2"), indent=2),
        json.dumps(make_event("p3")),
        "not json",
    ]
    path = write(tmp_path / "mixed.jsonl", "\n".join(lines) + "\n")
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (3, 1)
    # Line numbers stay the file's own: "not json" is the file's last line.
    last_line = len("\n".join(lines).splitlines())
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [("not json", last_line)]


@pytest.mark.parametrize("between", ["", " ", "\t"])
def test_objects_side_by_side_on_a_line_all_load(conn, tmp_path, between):
    first, second, third = (json.dumps(make_event(f"s{i}")) for i in range(1, 4))
    path = write(tmp_path / "two.jsonl", f"{first}{between}{second}\n{third}\nnot json\n")
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (3, 1)
    assert query(conn, "SELECT source_line FROM bronze.dead_letter_queue") == [(3,)]


def test_a_pretty_printed_value_still_broken_is_one_dlq_entry(conn, tmp_path):
    broken = '{\n  "id": "zz",\n  "type": \n}'
    path = write(
        tmp_path / "broken.jsonl",
        json.dumps(make_event("b1")) + "\n" + broken + "\n" + json.dumps(make_event("b2")) + "\n",
    )
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (2, 1)
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [(broken, 2)]


def test_the_elements_of_an_array_line_keep_that_line_number(conn, tmp_path):
    lines = [
        json.dumps(make_event("l1")),
        '["bad-a", ' + json.dumps(make_event("l2")) + ', "bad-b", "bad-c"]',
        "garbage-3",
        json.dumps(make_event("l4")),
        "garbage-5",
    ]
    path = write(tmp_path / "arrline.jsonl", "\n".join(lines) + "\n")
    report, _ = load_files(conn, [path])
    # Per event: an array line counts one per element (4), every other line one.
    assert (report.inserted, report.errors) == (3, 5)
    assert query(conn, "SELECT source_line, COUNT(*) FROM bronze.dead_letter_queue GROUP BY 1 ORDER BY 1") == [
        (2, 3),
        (3, 1),
        (5, 1),
    ]


def test_a_directory_without_event_files_is_an_error_naming_what_was_skipped(settings, tmp_path):
    from helpers import run_cli

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "EVENTS.JSON").write_text(json.dumps(make_event("1")))
    (folder / "events.txt").write_text(json.dumps(make_event("2")))
    result = run_cli(settings, "ingestion/src/main.py", "--once", "--source", str(folder))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "EVENTS.JSON" in output and "events.txt" in output and "*.jsonl" in output


def test_a_stray_bracket_line_before_json_lines_costs_that_line_only(conn, tmp_path):
    path = write(tmp_path / "lines.jsonl", "[\n" + "\n".join(ARRAY_EVENTS) + "\n")
    report, _ = load_files(conn, [path])
    assert (report.inserted, report.errors) == (6, 1)
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [("[", 1)]


# -- a damaged element of an array written one element per line costs its own line(s) ----------
LINE_EVENTS = [json.dumps(make_event(f"line-{i}")) for i in range(1, 7)]


@pytest.mark.parametrize("indent", ["  ", ""])
@pytest.mark.parametrize(
    "broken",
    [
        '{"id": "b-1", "type": "Push,',  # a string cut in half: it runs on over the next lines
        '{"id": "b-1", "type": "PushEvent", "actor": {"id": 1,',  # cut after a comma: brackets never close
        '"id": "b-1", "type": "PushEvent"',  # braces missing
        '{"id": "b-1", "type": "PushEvent"]',  # a bracket that does not match
        '{"id": "b-1" "type": "PushEvent"}',  # a missing comma inside (PostgreSQL judges it)
        "garbage!!",
    ],
)
@pytest.mark.parametrize("where", [0, 2, 5])
def test_a_broken_element_of_a_one_per_line_array_costs_its_line_only(conn, tmp_path, indent, broken, where):
    elements = LINE_EVENTS[:where] + [broken] + LINE_EVENTS[where:]
    text = "[\n" + ",\n".join(indent + e for e in elements) + "\n]\n"
    report, damaged = load_files(conn, [write(tmp_path / "array.json", text)])
    assert damaged == []
    assert (report.inserted, report.errors) == (6, 1)
    assert {r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events")} == {f"line-{i}" for i in range(1, 7)}
    ((raw, line),) = query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue")
    assert line == where + 2  # the broken element's own line
    assert raw.rstrip(",") == broken.rstrip(",")


def test_a_broken_element_with_the_opening_bracket_on_its_line_costs_that_line_only(conn, tmp_path):
    text = '[{"id": "b-1", "typ,\n' + ",\n".join(LINE_EVENTS) + "\n]\n"
    report, damaged = load_files(conn, [write(tmp_path / "array.json", text)])
    assert (report.inserted, report.errors, damaged) == (6, 1, [])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [('{"id": "b-1", "typ,', 1)]


def test_a_broken_element_of_a_pretty_array_costs_its_lines_only(conn, tmp_path):
    elements = [json.dumps(make_event(f"p-{i}"), indent=2).replace("\n", "\n  ") for i in range(1, 7)]
    broken = elements[2][: len(elements[2]) // 2]  # cut in the middle, then the next element follows
    text = "[\n  " + ",\n  ".join(elements[:2] + [broken] + elements[3:]) + "\n]\n"
    report, damaged = load_files(conn, [write(tmp_path / "array.json", text)])
    assert (report.inserted, report.errors, damaged) == (5, 1, [])
    ((raw, line),) = query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue")
    assert raw.rstrip(",") == broken.rstrip(",") and line == text.count("\n", 0, text.index(broken)) + 1


def test_concatenated_pretty_objects_with_a_broken_one_load_the_others(conn, tmp_path):
    objects = [json.dumps(make_event(f"c-{i}"), indent=2) for i in range(1, 5)]
    broken = objects[1][:40]
    text = "\n".join([objects[0], broken] + objects[2:]) + "\n"
    report, damaged = load_files(conn, [write(tmp_path / "objects.json", text)])
    assert (report.inserted, report.errors, damaged) == (3, 1, [])
    assert query(conn, "SELECT raw_text, source_line FROM bronze.dead_letter_queue") == [
        (broken.rstrip(), objects[0].count("\n") + 2)
    ]
