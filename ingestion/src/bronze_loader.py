"""Load GitHub events into bronze.raw_events: deduplicated, with bad rows isolated in the DLQ.

How a batch is loaded (one transaction per batch):
0. Fast path, for the usual batch where every line is a valid event: under a SAVEPOINT,
   COPY the lines straight into a jsonb temp column (PostgreSQL parses them as it reads,
   as a plain COPY would) and move them into bronze with one INSERT ... ON CONFLICT DO
   NOTHING. Any line COPY cannot parse, or that is not an object with an id, fails this
   step as a whole; it is rolled back and the batch takes the careful path below.
1. COPY its JSON texts, one per line, into a session temp table (no parsing in Python).
2. Under a SAVEPOINT, one set-based INSERT ... SELECT casts each text to jsonb, repairs
   `\\u0000` (which jsonb rejects) to U+FFFD keeping the original text, dead-letters texts
   that are not event objects, and inserts the rest ON CONFLICT (event_id) DO NOTHING.
3. If that statement fails (a text PostgreSQL cannot parse), roll back to the savepoint
   and run the same statement in its safe form: pg_input_is_valid() routes unparseable
   texts to the DLQ with PostgreSQL's own error message, still set-based.
4. Only if that fails too, fall back to one SAVEPOINT per row, as the specification
   describes: a bad row rolls back only itself and lands in the DLQ.
The report counts inserted, duplicate, dead-lettered and repaired events.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

import psycopg2
from psycopg2.extras import execute_values

from ghdw.core.lifecycle import first_line
from ghdw.core.sqlfiles import load_sql
from ghdw.sources import json_split
from ghdw.sources.event_files import Chunk, Reject
from ghdw.sources.json_split import RawEvent

log = logging.getLogger("ghdw.BRONZE_LOADER")

# Bytes that valid JSON text never contains raw (JSON escapes control characters), used as
# CSV delimiter and quote so that COPY passes each line through byte for byte.
COPY_SQL = r"COPY pg_temp.bronze_staging (line) FROM STDIN WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')"
JSON_COPY_SQL = (
    r"COPY pg_temp.bronze_staging_jsonb (doc) FROM STDIN WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')"
)

LOAD_WORK_MEM = "256MB"

# The load statements, under warehouse/bronze/load/ (see each file's header).
STAGING_DDL = load_sql("bronze/load/staging.sql")
JSON_LOAD_SQL = load_sql("bronze/load/load_parsed.sql")
LINES_LOAD_SQL = load_sql("bronze/load/load_lines.sql")
FAST_LOAD = {"careful": False, "line_no": None}  # the set-based load
SAFE_LOAD = {"careful": True, "line_no": None}  # the validating set-based load
NUL_ESCAPE = b"\\u0000"

# ON CONFLICT: a text already dead-lettered at that line of that source (a reload after a crash,
# the same API event on every poll) is counted as an error again but stored once.
DLQ_INSERT_SQL = (
    "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source, source_line) VALUES %s "
    "ON CONFLICT DO NOTHING RETURNING 1"
)
DLQ_INSERT_ONE_SQL = (
    "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source, source_line) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)


@dataclass
class LoadReport:
    lines: int = 0
    inserted: int = 0
    duplicates: int = 0
    errors: int = 0  # events rejected by this load, stored in the DLQ or already there
    repaired: int = 0
    already_in_dlq: int = 0  # of the errors: the same text at the same line was dead-lettered before

    def __iadd__(self, other: LoadReport) -> LoadReport:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def summary(self) -> str:
        already = f" ({self.already_in_dlq} already in the DLQ)" if self.already_in_dlq else ""
        return f"{self.inserted} Inserted | {self.duplicates} Duplicates | {self.errors} Errors{already}"


def _printable(raw: bytes) -> str:
    """Text for a DLQ row: the input as received, undecodable bytes and NULs as \\xNN escapes."""
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _stage(cur, data: bytes) -> None:
    cur.execute("TRUNCATE pg_temp.bronze_staging RESTART IDENTITY")
    cur.copy_expert(COPY_SQL, io.BytesIO(data))


def _insert_rejects(cur, rejects: list[tuple]) -> LoadReport:
    """Dead-letter (raw_text, reason, source, line) rows; each counts as an error of this load."""
    if not rejects:
        return LoadReport()
    stored = len(execute_values(cur, DLQ_INSERT_SQL, rejects, fetch=True))
    return LoadReport(lines=len(rejects), errors=len(rejects), already_in_dlq=len(rejects) - stored)


def _line_number(params: dict, line_no: int) -> int | None:
    """The input line of staged row `line_no` (None when the input has no line numbers)."""
    if params["first_line"] is None:
        return None
    numbers = params.get("line_numbers")
    if numbers and line_no <= len(numbers):  # the empty line after the chunk's last newline has none
        return numbers[line_no - 1]
    return params["first_line"] + (line_no - 1) * params["line_step"]


def _stage_lines_one_by_one(cur, data: bytes, params: dict) -> LoadReport:
    """COPY refused the chunk (bad encoding, stray control bytes): stage line by line,
    dead-lettering the lines PostgreSQL cannot hold as text."""
    cur.execute("TRUNCATE pg_temp.bronze_staging RESTART IDENTITY")
    rows, rejects = [], []
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        number = _line_number(params, line_no)
        raw = raw.rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
            if "\x00" in text:
                raise ValueError("NUL byte in text")
        except (UnicodeDecodeError, ValueError) as exc:
            rejects.append((_printable(raw), f"unreadable text: {exc}", params["source"], number))
            text = None
        # Keep numbering aligned with the file: one staged row per input line.
        rows.append((text if text and text.strip() else None,))
    execute_values(cur, "INSERT INTO pg_temp.bronze_staging (line) VALUES %s", rows, page_size=1000)
    return _insert_rejects(cur, rejects)


def _run_load(cur, sql: str, params: dict) -> LoadReport:
    cur.execute(sql, params)
    valid, inserted, repaired, rejected, dead = cur.fetchone()
    return LoadReport(
        lines=valid + rejected,
        inserted=inserted,
        duplicates=valid - inserted,
        errors=rejected,
        repaired=repaired,
        already_in_dlq=rejected - dead,
    )


def _load_row_by_row(cur, params: dict) -> LoadReport:
    """The specification's row-level isolation: one SAVEPOINT per staged row."""
    report = LoadReport()
    cur.execute("SELECT line_no, line FROM pg_temp.bronze_staging WHERE line IS NOT NULL ORDER BY line_no")
    for line_no, line in cur.fetchall():
        cur.execute("SAVEPOINT bronze_row")
        try:
            report += _run_load(cur, LINES_LOAD_SQL, {**params, "careful": True, "line_no": line_no})
            cur.execute("RELEASE SAVEPOINT bronze_row")
        except psycopg2.Error as exc:
            cur.execute("ROLLBACK TO SAVEPOINT bronze_row")
            reason = first_line(exc, pgerror=True)
            number = _line_number(params, line_no)
            cur.execute(DLQ_INSERT_ONE_SQL, (line, reason, params["source"], number))
            report += LoadReport(lines=1, errors=1, already_in_dlq=1 - cur.rowcount)
            # API events (and a single event) have no line number: say which kind of row it was.
            row = f"Row at line {number}" if number is not None else "API event" if params["source"] == "api" else "Row"
            log.warning("%s isolated to the DLQ: %s", row, reason)
    return report


def load_chunk(conn, chunk: Chunk, source: str, commit: bool = True) -> LoadReport:
    """Load one chunk in one transaction and commit it (commit=False: the caller commits,
    as dlq.py does to mark entries replayed in the same transaction)."""
    report = LoadReport()
    with conn.cursor() as cur:
        # A chunk's materialised CTEs hold ~16 MB of text; keep them in memory, not spilled to disk.
        cur.execute("SET LOCAL work_mem = %s", (LOAD_WORK_MEM,))
        # PostgreSQL text cannot hold NUL: kept visible as \x00, as _printable does.
        report += _insert_rejects(
            cur, [(r.raw_text.replace("\x00", "\\x00"), r.reason, source, r.line) for r in chunk.rejects]
        )
        # jsonb refuses \u0000 (GH Archive has some): such a batch goes straight to the path that
        # repairs it rather than paying for a fast attempt bound to fail.
        fast = _load_parsed_by_copy(cur, chunk.data, source) if chunk.data and NUL_ESCAPE not in chunk.data else None
        if fast is not None:
            report += fast
        elif chunk.data:
            params = {
                "source": source,
                "first_line": chunk.first_line,
                "line_step": chunk.line_step,
                "line_numbers": chunk.line_numbers,
            }
            cur.execute(STAGING_DDL)
            cur.execute("SAVEPOINT bronze_copy")
            try:
                _stage(cur, chunk.data)
            except psycopg2.Error as exc:
                cur.execute("ROLLBACK TO SAVEPOINT bronze_copy")
                log.warning(
                    "COPY refused the batch from line %s (%s); staging line by line.",
                    chunk.first_line,
                    first_line(exc),
                )
                report += _stage_lines_one_by_one(cur, chunk.data, params)
            report += _load_staged(cur, params)
    if commit:
        conn.commit()
    return report


def _load_parsed_by_copy(cur, data: bytes, source: str) -> LoadReport | None:
    """Step 0: the whole batch through COPY-into-jsonb and one INSERT; None if any line is bad."""
    cur.execute(STAGING_DDL)
    cur.execute("SAVEPOINT bronze_fast")
    try:
        cur.execute("TRUNCATE pg_temp.bronze_staging_jsonb")
        cur.copy_expert(JSON_COPY_SQL, io.BytesIO(data))
        cur.execute(JSON_LOAD_SQL, {"source": source})
        staged, inserted = cur.fetchone()
    except psycopg2.Error as exc:
        cur.execute("ROLLBACK TO SAVEPOINT bronze_fast")
        log.info("Fast load refused the batch (%s); loading it line-aware.", first_line(exc))
        return None
    cur.execute("RELEASE SAVEPOINT bronze_fast")
    return LoadReport(lines=staged, inserted=inserted, duplicates=staged - inserted)


def _load_staged(cur, params: dict) -> LoadReport:
    for mode, name in ((FAST_LOAD, "set-based load"), (SAFE_LOAD, "validating set-based load")):
        cur.execute("SAVEPOINT bronze_batch")
        try:
            result = _run_load(cur, LINES_LOAD_SQL, {**params, **mode})
            cur.execute("RELEASE SAVEPOINT bronze_batch")
            return result
        except psycopg2.Error as exc:
            cur.execute("ROLLBACK TO SAVEPOINT bronze_batch")
            log.info(
                "%s failed (%s); retrying the batch more carefully.",
                name.capitalize(),
                first_line(exc),
            )
    return _load_row_by_row(cur, params)


def events_to_chunk(events: Iterable) -> Chunk:
    """Serialise API events (parsed JSON values) one per line, ASCII-escaped so that lone
    surrogates stay visible as \\udXXX for PostgreSQL to reject into the DLQ.

    A RawEvent (an event too deep for Python's parser) is passed through as its text. Values
    too deep for json.dumps's recursion are written by json_split.dumps, which has none.
    """
    lines, rejects = [], []
    for event in events:
        if isinstance(event, RawEvent):
            if "\n" in event or "\r" in event:
                raw = event.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                rejects.append(Reject(raw, "invalid JSON: a line break inside a string"))
                lines.append(b"")
            else:
                lines.append(event.encode("utf-8", "surrogateescape"))
            continue
        lines.append(json_split.event_line(event).encode("ascii"))
    # No line numbers: an event's place in a poll is not where it came from, and the same bad
    # event seen by several polls must be one DLQ entry.
    return Chunk(data=b"\n".join(lines), first_line=None, rejects=rejects)


def load_events(conn, events: list, source: str = "api", commit: bool = True) -> LoadReport:
    """Load a batch of already-parsed events (the API client's page) and log its report
    (commit=False: the caller commits, as the listener does to record the poll in the same transaction)."""
    started = time.perf_counter()
    report = load_chunk(conn, events_to_chunk(events), source, commit)
    log.info(
        "Batch Report: %s (%d repaired, %.0f ms)",
        report.summary(),
        report.repaired,
        (time.perf_counter() - started) * 1000,
    )
    return report


def load_chunks(conn, chunks: Iterator[Chunk], source: str) -> LoadReport:
    """Load a stream of chunks (a file), one transaction per chunk."""
    total = LoadReport()
    for chunk in chunks:
        total += load_chunk(conn, chunk, source)
    return total
