"""The dead-letter queue: list it, show one entry whole, replay entries through the loader, resolve.

    python ingestion/src/dlq.py list [--all] [--limit 20] [--json]
    python ingestion/src/dlq.py show --id 7 [--json | --raw]      one entry whole (--raw: raw_text only)
    python ingestion/src/dlq.py replay --all                 every open entry, as stored
    python ingestion/src/dlq.py replay --id 7 --id 9         these entries, as stored (after a loader fix)
    python ingestion/src/dlq.py replay --id 7 --fixed-file fixed.json   one entry, with a corrected text
    python ingestion/src/dlq.py resolve --id 7 --note "test event, not a real one"

Nothing is ever deleted and raw_text is never changed: it stays the evidence of what arrived.
`list` cuts every text field to LIST_FIELD_CHARS, so one huge entry cannot flood a terminal;
`show --id N` prints an entry whole, on purpose (`show --id N --raw > fixed.json` to start a fix).

A replay reads each entry's text (or the fixed file) with the project's file reader
(event_files.iter_stream_chunks), so every shape a file load accepts works: one event, JSON lines,
a JSON array, pretty-printed or concatenated objects, gzip (fixed files). The JSON texts it finds are
"the entry's events". They go through bronze_loader.load_chunk, the same path as every other input
(same dedup on event_id, same isolation), and in ONE transaction the entries are then judged:

  an entry is resolved only when its text holds at least one event, every one of them is in
  bronze.raw_events after the load (checked by event id in the database; "already there" counts),
  and none of its text was dead-lettered again.

Anything else (an empty or whitespace text, invalid JSON, JSON that is not an event, an unclosed
array, unreadable bytes, one bad event among good ones) leaves the entry open. Its good events stay
in bronze (a later replay dedups them); the new failure is recorded as its own DLQ row with
replay_of = the entry's id, resolved at once, so a retry leaves a trace without piling up open
entries. The command exits 1 while any replayed entry is still open. A crash mid-replay rolls back
the load and the marks together, and a rerun replays again without duplicates.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from ghdw.bronze_loader import load_chunk
from ghdw.core import db
from ghdw.core.lifecycle import exit_with, first_line
from ghdw.core.locks import REPLAY_LOCK_KEY
from ghdw.core.sqlfiles import load_sql
from ghdw.logger import start_process
from ghdw.sources.event_files import Chunk, Reject, iter_stream_chunks, open_binary

log = logging.getLogger("ghdw.DLQ")

REPLAY_SOURCE = "dlq-replay"
# A listed text field (error, resolution, source, event id) longer than this is cut with a note
# saying how much is left and where to see it: 20 entries stay one screenful, whatever arrived.
LIST_FIELD_CHARS = 300
NO_EVENT = "the replayed text holds no JSON event"

# Per entry: how many texts were replayed and how many of their event ids are now in bronze.
VERIFY_SQL = load_sql("bronze/dlq/verify_replay.sql")

# The loader's new DLQ rows become trace rows of the entry whose lines they came from.
TAG_FAILURES_SQL = """
UPDATE bronze.dead_letter_queue AS q
   SET replay_of = s.original, resolved_at = now(),
       resolution = 'replay attempt; entry ' || s.original || ' stays open'
  FROM unnest(%(ids)s::BIGINT[], %(firsts)s::BIGINT[], %(lasts)s::BIGINT[]) AS s(original, first_line, last_line)
 WHERE q.dlq_id > %(before)s AND q.source = %(source)s AND q.replay_of IS NULL
   AND q.source_line BETWEEN s.first_line AND s.last_line
RETURNING s.original, q.error_message
"""

TRACE_SQL = """
INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source, replay_of, resolved_at, resolution)
SELECT t.raw_text, t.reason, %(source)s, t.original, now(),
       'replay attempt; entry ' || t.original || ' stays open'
  FROM unnest(%(ids)s::BIGINT[], %(texts)s::TEXT[], %(reasons)s::TEXT[]) AS t(original, raw_text, reason)
ON CONFLICT DO NOTHING  -- as every DLQ insert; a trace row (replay_of set) is never a duplicate entry
"""


# The listing, each long field cut to LIST_FIELD_CHARS with a note of what is left.
LIST_SQL = load_sql("bronze/dlq/list_entries.sql")

SHOW_SQL = """
SELECT dlq_id, failed_at, source, source_line, event_id, error_message, resolved_at, resolution,
       replay_of, (SELECT COUNT(*) FROM bronze.dead_letter_queue AS t WHERE t.replay_of = q.dlq_id)
       AS replay_attempts, length(raw_text) AS raw_chars, raw_text
  FROM bronze.dead_letter_queue AS q
 WHERE dlq_id = %s
"""


@dataclass
class ReplayResult:
    entries: int = 0
    resolved: int = 0
    inserted: int = 0
    duplicates: int = 0
    still_open: dict[int, str] = field(default_factory=dict)  # entry id -> why it is still open
    not_open: list[int] = field(default_factory=list)  # asked for, but resolved or a trace row
    missing: list[int] = field(default_factory=list)  # asked for, no such row


@dataclass
class _Attempt:
    """One entry's part of the replay batch: lines first_line..last_line of the chunk."""

    dlq_id: int
    replayed_text: str
    lines: list[bytes]
    rejects: list[Reject]
    first_line: int = 0
    last_line: int = 0


def list_entries(conn, include_resolved: bool = False, limit: int = 20) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(LIST_SQL, {"all": include_resolved, "limit": limit, "chars": LIST_FIELD_CHARS})
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    conn.rollback()
    return rows


def show_entry(conn, dlq_id: int) -> dict | None:
    with conn.cursor() as cur:
        cur.execute(SHOW_SQL, (dlq_id,))
        row = cur.fetchone()
        names = [d.name for d in cur.description]
    conn.rollback()
    return dict(zip(names, row)) if row else None


def _printable(raw: bytes) -> str:
    """A replayed text as PostgreSQL can store it: undecodable bytes and NULs as \\xNN escapes."""
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _read(dlq_id: int, raw: bytes) -> _Attempt:
    """An entry's text through the project's file reader: its JSON texts and what it rejected."""
    lines: list[bytes] = []
    rejects: list[Reject] = []
    for chunk in iter_stream_chunks(io.BytesIO(raw)):  # in memory: no damaged-gzip case here
        if chunk.data:
            lines.extend(chunk.data.split(b"\n"))
        rejects.extend(chunk.rejects)
    # A blank line is no text (the loader skips it); whitespace-only lines are blanks too.
    lines = [line.rstrip(b"\r") if line.strip() else b"" for line in lines]
    return _Attempt(dlq_id, _printable(raw), lines, rejects)


def _text_or_none(line: bytes) -> str | None:
    """The line as text for the id check; None (never in bronze) if PostgreSQL cannot hold it."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _batch(attempts: list[_Attempt]) -> Chunk:
    """One chunk for the loader; each entry owns a contiguous range of its lines, so a new DLQ row
    maps back to its entry by source_line. Reader rejects are placed on the entry's first line."""
    lines: list[bytes] = []
    rejects: list[Reject] = []
    for attempt in attempts:
        attempt.first_line = len(lines) + 1
        lines.extend(attempt.lines or [b""])  # a text with no line still owns one (blank) line
        attempt.last_line = len(lines)
        rejects.extend(Reject(r.raw_text, r.reason, attempt.first_line) for r in attempt.rejects)
    return Chunk(data=b"\n".join(lines), rejects=rejects)


def _verify(cur, attempts: list[_Attempt]) -> tuple[dict[int, tuple[int, int]], dict[int, str]]:
    """Per entry, (texts replayed, of their event ids in bronze), set-based; and the entries whose
    texts PostgreSQL cannot even read for the check (JSON too deep for its parser: `stack depth
    limit exceeded` is an error pg_input_is_valid does not catch), with PostgreSQL's reason.
    Only when the statement fails is each entry checked alone, under its own savepoint, so one
    such entry never blocks the others."""

    def check(group: list[_Attempt]) -> dict[int, tuple[int, int]]:
        texts = [(a.dlq_id, _text_or_none(line)) for a in group for line in a.lines if line]
        cur.execute(VERIFY_SQL, {"ids": [t[0] for t in texts], "lines": [t[1] for t in texts]})
        return {dlq_id: (count, in_bronze) for dlq_id, count, in_bronze in cur.fetchall()}

    cur.execute("SAVEPOINT dlq_verify")
    try:
        found = check(attempts)
        cur.execute("RELEASE SAVEPOINT dlq_verify")
        return found, {}
    except psycopg2.Error as exc:
        cur.execute("ROLLBACK TO SAVEPOINT dlq_verify")
        log.warning(
            "Checking the replayed entries together failed (%s); checking each alone.",
            first_line(exc, pgerror=True),
        )
    found, unverifiable = {}, {}
    for attempt in attempts:
        cur.execute("SAVEPOINT dlq_verify")
        try:
            found.update(check([attempt]))
            cur.execute("RELEASE SAVEPOINT dlq_verify")
        except psycopg2.Error as exc:
            cur.execute("ROLLBACK TO SAVEPOINT dlq_verify")
            unverifiable[attempt.dlq_id] = "its events cannot be checked: " + first_line(exc, pgerror=True)
    return found, unverifiable


def replay(conn, ids: list[int] | None, fixed_text: bytes | str | None = None) -> ReplayResult:
    """Replay open entries (all when ids is None), as stored or with one corrected text (the bytes
    of a fixed file). Returns what happened; see the module docstring for when an entry resolves."""
    if fixed_text is not None and (not ids or len(ids) != 1):
        raise ValueError("--fixed-file replaces the text of exactly one entry: give one --id")
    if isinstance(fixed_text, str):
        fixed_text = fixed_text.encode("utf-8")
    result = ReplayResult()
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (REPLAY_LOCK_KEY,))
        cur.execute(
            "SELECT dlq_id, raw_text FROM bronze.dead_letter_queue "
            "WHERE resolved_at IS NULL AND replay_of IS NULL "
            "AND (%(ids)s::BIGINT[] IS NULL OR dlq_id = ANY(%(ids)s)) ORDER BY dlq_id FOR UPDATE",
            {"ids": ids},
        )
        entries = cur.fetchall()
        if ids:
            cur.execute("SELECT dlq_id FROM bronze.dead_letter_queue WHERE dlq_id = ANY(%s)", (ids,))
            existing = {row[0] for row in cur.fetchall()}
            chosen = {dlq_id for dlq_id, _ in entries}
            result.not_open = sorted(set(ids) & existing - chosen)
            result.missing = sorted(set(ids) - existing)
        if not entries:
            conn.rollback()
            return result
        attempts = [
            _read(dlq_id, fixed_text if fixed_text is not None else text.encode("utf-8")) for dlq_id, text in entries
        ]
        chunk = _batch(attempts)
        cur.execute("SELECT COALESCE(MAX(dlq_id), 0) FROM bronze.dead_letter_queue")
        before = cur.fetchone()[0]
        report = load_chunk(conn, chunk, REPLAY_SOURCE, commit=False)

        cur.execute(
            TAG_FAILURES_SQL,
            {
                "ids": [a.dlq_id for a in attempts],
                "before": before,
                "firsts": [a.first_line for a in attempts],
                "lasts": [a.last_line for a in attempts],
                "source": REPLAY_SOURCE,
            },
        )
        failed: dict[int, str] = {}
        for original, message in cur.fetchall():
            failed.setdefault(original, message)
        # An entry the loader dead-lettered again stays open whatever else it holds: not checked.
        found, unverifiable = _verify(cur, [a for a in attempts if a.dlq_id not in failed])

        untraced = []  # failed without a row from the loader: the trace row says why
        for attempt in attempts:
            count, in_bronze = found.get(attempt.dlq_id, (0, 0))
            if attempt.dlq_id in failed:
                continue
            if attempt.dlq_id in unverifiable:
                failed[attempt.dlq_id] = unverifiable[attempt.dlq_id]
            elif count == 0:
                failed[attempt.dlq_id] = NO_EVENT
            elif in_bronze < count:
                failed[attempt.dlq_id] = f"{count - in_bronze} of the {count} replayed events are not in bronze"
            else:
                continue
            untraced.append(attempt)
        cur.execute(
            TRACE_SQL,
            {
                "ids": [a.dlq_id for a in untraced],
                "texts": [a.replayed_text for a in untraced],
                "reasons": [failed[a.dlq_id] for a in untraced],
                "source": REPLAY_SOURCE,
            },
        )

        resolved = [a.dlq_id for a in attempts if a.dlq_id not in failed]
        how = "replayed with a corrected text" if fixed_text is not None else "replayed as stored"
        cur.execute(
            "UPDATE bronze.dead_letter_queue AS q SET resolved_at = now(), "
            "resolution = %s || ': its ' || r.events || ' event(s) are in bronze' "
            "FROM unnest(%s::BIGINT[], %s::BIGINT[]) AS r(dlq_id, events) WHERE q.dlq_id = r.dlq_id",
            (how, resolved, [found[dlq_id][0] for dlq_id in resolved]),
        )
    conn.commit()
    result.entries, result.resolved = len(attempts), len(resolved)
    result.inserted, result.duplicates = report.inserted, report.duplicates
    result.still_open = {dlq_id: failed[dlq_id] for dlq_id, _ in entries if dlq_id in failed}
    log.info(
        "DLQ replay: %d entries, %d resolved, %d still open; %d events inserted, %d already in bronze",
        result.entries,
        result.resolved,
        len(result.still_open),
        result.inserted,
        result.duplicates,
    )
    return result


def resolve(conn, ids: list[int], note: str) -> int:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE bronze.dead_letter_queue SET resolved_at = now(), resolution = %s "
            "WHERE dlq_id = ANY(%s) AND resolved_at IS NULL",
            (f"resolved by operator: {note}", ids),
        )
        count = cur.rowcount
    conn.commit()
    log.info("Marked %d DLQ entries resolved", count)
    return count


def _cut(text: str) -> str:
    if len(text) <= LIST_FIELD_CHARS:
        return text
    return f"{text[:LIST_FIELD_CHARS]} [... {len(text) - LIST_FIELD_CHARS} more chars]"


def _print_entries(rows: list[dict]) -> None:
    if not rows:
        print("No entries.")
        return
    for r in rows:
        state = f"resolved {r['resolved_at']:%Y-%m-%d %H:%M} ({r['resolution']})" if r["resolved_at"] else "OPEN"
        where = f"{r['source']}" + (f" line {r['source_line']}" if r["source_line"] else "")
        print(
            f"#{r['dlq_id']:<6} {r['failed_at']:%Y-%m-%d %H:%M:%S}  {where}  event {r['event_id'] or '?'}  "
            f"{r['raw_chars']} chars  {state}\n         {r['error_message']}"
        )


def _print_replay(result: ReplayResult) -> None:
    print(
        f"Replayed {result.entries} entries: {result.resolved} resolved, {len(result.still_open)} still open "
        f"({result.inserted} events inserted, {result.duplicates} already in bronze)."
    )
    for dlq_id, reason in result.still_open.items():
        print(f"  #{dlq_id} still open: {_cut(reason)}")
    for dlq_id in result.not_open:
        print(f"  #{dlq_id} is not an open entry (already resolved, or a replay's trace row): nothing to do")
    for dlq_id in result.missing:
        print(f"  #{dlq_id}: no such DLQ entry")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p_list = commands.add_parser("list", help="the newest entries (open ones unless --all), long fields cut")
    p_list.add_argument("--all", action="store_true", help="include resolved entries")
    p_list.add_argument("--limit", type=int, default=20)
    p_list.add_argument("--json", action="store_true")
    p_show = commands.add_parser("show", help="one entry whole, raw_text included")
    p_show.add_argument("--id", type=int, required=True)
    shape = p_show.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true")
    shape.add_argument("--raw", action="store_true", help="raw_text only, exactly as stored")
    p_replay = commands.add_parser("replay", help="send entries through the loader again")
    which = p_replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, action="append", dest="ids", help="an entry (repeatable)")
    which.add_argument("--all", action="store_true", help="every open entry")
    p_replay.add_argument(
        "--fixed-file", type=Path, help="a corrected text for the one --id entry, in any shape a file load accepts"
    )
    p_resolve = commands.add_parser("resolve", help="mark entries resolved without replaying them")
    p_resolve.add_argument("--id", type=int, action="append", dest="ids", required=True)
    p_resolve.add_argument("--note", required=True, help="why (kept in the resolution column)")
    args = parser.parse_args(argv)
    settings = start_process()
    with db.connection(settings) as conn:
        if args.command == "list":
            rows = list_entries(conn, args.all, args.limit)
            if args.json:
                print(json.dumps(rows, default=str))
            else:
                _print_entries(rows)
        elif args.command == "show":
            entry = show_entry(conn, args.id)
            if entry is None:
                print(f"No DLQ entry #{args.id}.", file=sys.stderr)
                return 1
            if args.raw:
                sys.stdout.write(entry["raw_text"])
            elif args.json:
                print(json.dumps(entry, default=str))
            else:
                raw_text = entry.pop("raw_text")
                for name, value in entry.items():
                    print(f"{name + ':':<16} {value}")
                print(f"raw_text:\n{raw_text}")
        elif args.command == "replay":
            fixed = None
            if args.fixed_file:
                try:
                    with open_binary(args.fixed_file) as stream:
                        fixed = stream.read()
                except (OSError, EOFError, zlib.error) as exc:  # missing, unreadable, or a damaged gzip
                    parser.error(f"cannot read --fixed-file {args.fixed_file}: {exc}")
            try:
                result = replay(conn, None if args.all else args.ids, fixed)
            except ValueError as exc:
                parser.error(str(exc))
            _print_replay(result)
            return 1 if result.still_open or result.missing else 0
        else:
            print(f"Marked {resolve(conn, args.ids, args.note)} entries resolved.")
    return 0


if __name__ == "__main__":
    exit_with(main)
