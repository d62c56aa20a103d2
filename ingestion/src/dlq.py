"""The dead-letter queue: list it, replay entries through the loader, mark entries resolved.

    python ingestion/src/dlq.py list [--all] [--limit 20] [--json]
    python ingestion/src/dlq.py replay --all                 every open entry, as stored
    python ingestion/src/dlq.py replay --id 7 --id 9         these entries, as stored (after a loader fix)
    python ingestion/src/dlq.py replay --id 7 --fixed-file fixed.json   one entry, with a corrected text
    python ingestion/src/dlq.py resolve --id 7 --note "test event, not a real one"

Nothing is ever deleted and raw_text is never changed: it stays the evidence of what arrived.
A replay sends the texts through bronze_loader.load_chunk, the same path as every other input,
so the same dedup (ON CONFLICT on event_id) and the same isolation apply. In ONE transaction it
loads them and marks the entries that loaded 'replayed' (resolved_at, resolution); an entry that
fails again stays open, and the new failure is recorded as its own DLQ row with replay_of = the
entry's id, resolved at once, so a retry leaves a trace without piling up open entries.
A crash mid-replay rolls back both, and a rerun replays again without duplicates.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import db
from bronze_loader import load_chunk
from event_files import Chunk
from logger import start_process

log = logging.getLogger("DLQ")

REPLAY_SOURCE = "dlq-replay"
REPLAY_LOCK_KEY = 4_242_003  # one replay at a time: it maps new DLQ rows back to the entries it sent

LIST_SQL = """
SELECT dlq_id, failed_at, source, source_line, event_id, error_message, resolved_at, resolution,
       length(raw_text) AS raw_chars
  FROM bronze.dead_letter_queue
 WHERE replay_of IS NULL AND (%(all)s OR resolved_at IS NULL)
 ORDER BY dlq_id DESC
 LIMIT %(limit)s
"""


def list_entries(conn, include_resolved: bool = False, limit: int = 20) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(LIST_SQL, {"all": include_resolved, "limit": limit})
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    conn.rollback()
    return rows


def replay(conn, ids: list[int] | None, fixed_text: str | None = None) -> dict:
    """Replay open entries (all when ids is None); returns counts of what happened."""
    if fixed_text is not None and (not ids or len(ids) != 1):
        raise ValueError("--fixed-file replaces the text of exactly one entry: give one --id")
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (REPLAY_LOCK_KEY,))
        cur.execute("SELECT dlq_id, raw_text FROM bronze.dead_letter_queue "
                    "WHERE resolved_at IS NULL AND replay_of IS NULL "
                    "AND (%(ids)s::BIGINT[] IS NULL OR dlq_id = ANY(%(ids)s)) ORDER BY dlq_id FOR UPDATE",
                    {"ids": ids})
        entries = cur.fetchall()
        if not entries:
            conn.rollback()
            return {"entries": 0, "inserted": 0, "duplicates": 0, "failed_again": 0}
        # JSON allows raw line breaks only as whitespace, so flattening them keeps each text intact
        # and makes line i of the chunk entry i.
        texts = [fixed_text if fixed_text is not None else text for _, text in entries]
        data = "\n".join(t.replace("\r", " ").replace("\n", " ") for t in texts).encode("utf-8", "surrogatepass")
        cur.execute("SELECT COALESCE(MAX(dlq_id), 0) FROM bronze.dead_letter_queue")
        before = cur.fetchone()[0]
        report = load_chunk(conn, Chunk(data=data), REPLAY_SOURCE, commit=False)
        line_to_entry = {line: dlq_id for line, (dlq_id, _) in enumerate(entries, start=1)}
        cur.execute("SELECT dlq_id, source_line FROM bronze.dead_letter_queue "
                    "WHERE dlq_id > %s AND source = %s", (before, REPLAY_SOURCE))
        failures = {line_to_entry[line]: new_id for new_id, line in cur.fetchall() if line in line_to_entry}
        cur.execute("UPDATE bronze.dead_letter_queue AS q SET replay_of = m.original, resolved_at = now(), "
                    "resolution = 'replay attempt; entry ' || m.original || ' stays open' "
                    "FROM unnest(%s::BIGINT[], %s::BIGINT[]) AS m(original, new_id) WHERE q.dlq_id = m.new_id",
                    (list(failures), list(failures.values())))
        replayed = [dlq_id for dlq_id, _ in entries if dlq_id not in failures]
        how = "replayed with a corrected text" if fixed_text is not None else "replayed as stored"
        cur.execute("UPDATE bronze.dead_letter_queue SET resolved_at = now(), resolution = %s "
                    "WHERE dlq_id = ANY(%s)", (f"{how}: loaded into bronze (or already there)", replayed))
    conn.commit()
    result = {"entries": len(entries), "inserted": report.inserted, "duplicates": report.duplicates,
              "failed_again": len(failures)}
    log.info("DLQ replay: %d entries, %d inserted, %d already in bronze, %d failed again (still open)",
             *result.values())
    return result


def resolve(conn, ids: list[int], note: str) -> int:
    with conn.cursor() as cur:
        cur.execute("UPDATE bronze.dead_letter_queue SET resolved_at = now(), resolution = %s "
                    "WHERE dlq_id = ANY(%s) AND resolved_at IS NULL", (f"resolved by operator: {note}", ids))
        count = cur.rowcount
    conn.commit()
    log.info("Marked %d DLQ entries resolved (%s)", count, note)
    return count


def _print_entries(rows: list[dict]) -> None:
    if not rows:
        print("No entries.")
        return
    for r in rows:
        state = f"resolved {r['resolved_at']:%Y-%m-%d %H:%M} ({r['resolution']})" if r["resolved_at"] else "OPEN"
        where = f"{r['source']}" + (f" line {r['source_line']}" if r["source_line"] else "")
        print(f"#{r['dlq_id']:<6} {r['failed_at']:%Y-%m-%d %H:%M:%S}  {where}  event {r['event_id'] or '?'}  "
              f"{r['raw_chars']} chars  {state}\n         {r['error_message']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p_list = commands.add_parser("list", help="the newest entries (open ones unless --all)")
    p_list.add_argument("--all", action="store_true", help="include resolved entries")
    p_list.add_argument("--limit", type=int, default=20)
    p_list.add_argument("--json", action="store_true")
    p_replay = commands.add_parser("replay", help="send entries through the loader again")
    which = p_replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, action="append", dest="ids", help="an entry (repeatable)")
    which.add_argument("--all", action="store_true", help="every open entry")
    p_replay.add_argument("--fixed-file", type=Path, help="a corrected text for the one --id entry")
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
        elif args.command == "replay":
            fixed = args.fixed_file.read_text(encoding="utf-8") if args.fixed_file else None
            try:
                result = replay(conn, None if args.all else args.ids, fixed)
            except ValueError as exc:
                parser.error(str(exc))
            print(f"Replayed {result['entries']} entries: {result['inserted']} inserted, "
                  f"{result['duplicates']} already in bronze, {result['failed_again']} failed again (still open)")
            return 1 if result["failed_again"] else 0
        else:
            print(f"Marked {resolve(conn, args.ids, args.note)} entries resolved.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
