"""Backfill bronze from GH Archive (complete history), resumably, at close to COPY speed.

    python ingestion/src/backfill.py --from 2024-01-01-0 --to 2024-01-01-23     fetch hours from GHARCHIVE_URL
    python ingestion/src/backfill.py data/2024-01-01-*.json.gz                 local files, directories or globs
    python ingestion/src/backfill.py --force ...                               reload files already completed
    python ingestion/src/backfill.py --etl ...                                 run silver + gold afterwards
    python ingestion/src/backfill.py --report --from 2024-01-01-0 --to 2024-01-01-23
                                                                               completeness, per hour

Each file streams download -> gunzip -> chunks of lines -> COPY -> one set-based insert (the bronze
loader), one transaction per chunk, with no temp file and flat memory; the next chunk is read while
BACKFILL_WORKERS connections (default 2) load the previous ones. Its outcome is recorded in
bronze.backfill_files: a rerun skips completed files; a file left 'loading' by a crash or Ctrl-C is
loaded again (the loader's dedup makes that exact). A damaged gzip loads what precedes the damage,
is marked 'partial', and the run goes on; the exit status is then 1.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import queue
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

import requests

import db
from bronze_loader import LoadReport, load_chunk
import lifecycle
import net_errors
from event_files import (DEFAULT_CHUNK_BYTES, SNIFF_BYTES, InputDamaged, UnsupportedInput, container_format,
                         expand_inputs, file_sources, iter_stream_chunks, open_member, prefetched, refusal)
from lifecycle import exit_with
from logger import start_process
from redaction import redact

log = logging.getLogger("BACKFILL")

HOUR_FORMAT = "%Y-%m-%d-%H"           # GH Archive names hours YYYY-MM-DD-H, hour not zero-padded
DOWNLOAD_TIMEOUT = (10, 120)          # seconds: connect, read between bytes
PROGRESS_LOG_SECONDS = 10             # when not on a terminal, a progress line this often
CHUNK_BYTES = DEFAULT_CHUNK_BYTES     # lines per transaction: ~16 MB, 5-8k GH Archive events


class HashingReader:
    """Wraps a byte stream, counting and hashing what passes through (the compressed bytes)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.bytes += len(data)
        return data

    def readable(self) -> bool:
        return True


@dataclass
class Target:
    name: str          # key in bronze.backfill_files, e.g. 2024-01-01-0.json.gz
    uri: str           # URL or absolute path
    source: str        # bronze.raw_events.source, e.g. gharchive:2024-01-01-0
    member: str | None = None  # for a member of a local zip archive (uri): its path inside it


def parse_hour(text: str) -> datetime:
    try:
        day, hour = text.rsplit("-", 1)
        return datetime.strptime(day, "%Y-%m-%d").replace(hour=int(hour))
    except ValueError:
        raise SystemExit(f"not an hour: {text!r} (expected YYYY-MM-DD-H, for example 2024-01-01-0)") from None


def hour_name(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}-{moment.hour}"


def hour_targets(first: datetime, last: datetime, base_url: str) -> list[Target]:
    targets, moment = [], first
    while moment <= last:
        name = hour_name(moment)
        targets.append(Target(f"{name}.json.gz", f"{base_url.rstrip('/')}/{name}.json.gz", f"gharchive:{name}"))
        moment += timedelta(hours=1)
    return targets


def file_targets(patterns: list[str]) -> list[Target]:
    """A target per local event file, and per event file inside a zip archive. Raises
    UnsupportedInput naming every input that is a binary container it cannot read (tar, xz, ...)."""
    paths = expand_inputs(patterns)  # FileNotFoundError naming the input that matches nothing
    targets, refused = [], []
    for path in paths:
        try:
            sources = file_sources(path)
        except UnsupportedInput as exc:
            refused.append(str(exc))
            continue
        for found in sources:
            base = found.member.rsplit("/", 1)[-1] if found.member else path.name
            stem = base.removesuffix(".gz").removesuffix(".json")
            name = f"{path.name}/{found.member}" if found.member else path.name
            source = f"gharchive:{stem}" if _looks_like_hour(stem) else found.name
            targets.append(Target(name, str(path.resolve()), source, found.member))
    if refused:
        raise UnsupportedInput("\n".join(refused))
    return targets


def _looks_like_hour(stem: str) -> bool:
    try:
        parse_hour(stem)
        return True
    except SystemExit:
        return False


def _open(target: Target, session: requests.Session) -> tuple[BinaryIO, HashingReader, object]:
    """A decompressed stream of the target, plus the hashing reader under it and what to close."""
    import gzip
    if target.uri.startswith(("http://", "https://")):
        response = session.get(target.uri, stream=True, timeout=DOWNLOAD_TIMEOUT)
        if response.status_code != 200:
            response.close()
            raise FileNotFoundError(f"{target.uri}: HTTP {response.status_code}")
        response.raw.decode_content = False  # we gunzip ourselves, streaming
        raw, closer = response.raw, response
    elif target.member:
        raw = open_member(target.uri, target.member, gunzip=False)
        closer = raw
    else:
        raw = open(target.uri, "rb")
        closer = raw
    hashing = HashingReader(raw)
    peek = hashing.read(SNIFF_BYTES)
    fmt = container_format(peek)
    if fmt not in (None, "gzip"):
        closer.close()
        raise refusal(target.name, fmt)
    rest = _Prefixed(peek, hashing)
    stream = gzip.GzipFile(fileobj=rest, mode="rb") if fmt == "gzip" else rest
    return stream, hashing, closer


class _Prefixed:
    """A stream that first returns `prefix` (bytes already read to sniff the format)."""

    def __init__(self, prefix: bytes, raw):
        self.prefix, self.raw = prefix, raw

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size is None or size < 0:
                data, self.prefix = self.prefix + self.raw.read(), b""
                return data
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            return data + (self.raw.read(size - len(data)) if size > len(data) else b"")
        return self.raw.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readable(self) -> bool:
        return True


class Progress:
    """A tqdm bar on a terminal; periodic log lines otherwise."""

    def __init__(self, total_files: int):
        self.events = 0
        self.started = time.monotonic()
        self.last_log = self.started
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total_files, unit="file", dynamic_ncols=True)

    def add(self, events: int) -> None:
        self.events += events
        rate = self.events / max(1e-9, time.monotonic() - self.started)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.events:,} events, {rate:,.0f} ev/s")
        elif time.monotonic() - self.last_log >= PROGRESS_LOG_SECONDS:
            self.last_log = time.monotonic()
            log.info("Progress: %s events loaded, %s events/s.", f"{self.events:,}", f"{rate:,.0f}")

    def file_done(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _status(conn, name: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SELECT status FROM bronze.backfill_files WHERE file_name = %s", (name,))
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else None


def _record(conn, target: Target, status: str, report: LoadReport, hashing: HashingReader | None,
            error: str | None, finished: bool) -> None:
    with conn.cursor() as cur:
        cur.execute("""
            INSERT INTO bronze.backfill_files AS f (file_name, source_uri, status, lines, loaded, duplicates,
                errors, bytes, sha256, started_at, finished_at, error_message)
            VALUES (%(name)s, %(uri)s, %(status)s, %(lines)s, %(loaded)s, %(dups)s, %(errors)s, %(bytes)s,
                    %(sha)s, now(), CASE WHEN %(finished)s THEN now() END, %(error)s)
            ON CONFLICT (file_name) DO UPDATE SET
                source_uri = EXCLUDED.source_uri, status = EXCLUDED.status, lines = EXCLUDED.lines,
                loaded = EXCLUDED.loaded, duplicates = EXCLUDED.duplicates, errors = EXCLUDED.errors,
                bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, error_message = EXCLUDED.error_message,
                started_at = CASE WHEN EXCLUDED.status = 'loading' THEN now() ELSE f.started_at END,
                finished_at = EXCLUDED.finished_at""",
            {"name": target.name, "uri": target.uri, "status": status, "lines": report.lines,
             "loaded": report.inserted, "dups": report.duplicates, "errors": report.errors,
             "bytes": hashing.bytes if hashing else 0, "sha": hashing.sha256.hexdigest() if hashing else None,
             "finished": finished, "error": redact(error)})
    conn.commit()


class ParallelLoader:
    """Loads a file's chunks on `workers` connections at once, each chunk in its own transaction.

    One PostgreSQL backend parses and inserts on one core; two loading at once use both cores of
    a small machine. That is safe here: the loader's ON CONFLICT dedups across concurrent
    transactions (the second waits for the first, then skips), silver reads bronze by
    transaction id below the oldest running one, so chunks committing out of order lose nothing,
    and a file is marked 'completed' only after all its chunks have committed. At most `workers`
    chunks are in flight (plus the one being read), so memory stays bounded.
    """

    def __init__(self, settings, workers: int):
        self.settings, self.workers = settings, max(1, workers)
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        self.opened: list = []
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="bronze-loader")

    def _load(self, chunk, source: str) -> LoadReport:
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = db.connect(self.settings)
            self.opened.append(conn)
        try:
            report = load_chunk(conn, chunk, source)
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        finally:
            if not conn.closed:
                self.idle.put(conn)
        return report

    def load(self, chunks, source: str, on_done) -> None:
        """Load every chunk; on_done(report) for each, in input order. An error reading the
        input (a damaged gzip) is raised after the chunks that preceded it have committed."""
        inflight: deque = deque()
        try:
            for chunk in chunks:
                inflight.append(self.executor.submit(self._load, chunk, source))
                while len(inflight) >= self.workers:
                    on_done(inflight.popleft().result())
        finally:
            while inflight:  # what was read before an error still commits (and is counted)
                on_done(inflight.popleft().result())

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for conn in self.opened:
            conn.close()


def load_target(conn, target: Target, session: requests.Session, loader: ParallelLoader,
                progress: Progress | None = None) -> tuple[str, LoadReport]:
    report, hashing = LoadReport(), None
    _record(conn, target, "loading", report, None, None, finished=False)
    try:
        stream, hashing, closer = _open(target, session)
    except (OSError, requests.RequestException, UnsupportedInput) as exc:
        reason = net_errors.describe(exc, target.uri, DOWNLOAD_TIMEOUT) \
            if isinstance(exc, requests.RequestException) else str(exc)
        _record(conn, target, "failed", report, None, reason, finished=True)
        log.error("%s: could not be read: %s", target.name, reason)
        return "failed", report
    status, error = "completed", None

    def done(part: LoadReport) -> None:
        nonlocal report
        report += part
        if progress:
            progress.add(part.inserted + part.duplicates)

    try:
        loader.load(prefetched(iter_stream_chunks(stream, CHUNK_BYTES)), target.source, done)
    except (InputDamaged, requests.RequestException, OSError, EOFError) as exc:
        status, error = "partial", (net_errors.describe(exc, target.uri, DOWNLOAD_TIMEOUT)
                                    if isinstance(exc, requests.RequestException) else f"{type(exc).__name__}: {exc}")
        log.error("%s is damaged after %d lines: %s; loaded what preceded it.", target.name, report.lines, exc)
    finally:
        closer.close()
    _record(conn, target, status, report, hashing, error, finished=True)
    return status, report


def run_backfill(settings, targets: list[Target], force: bool = False) -> tuple[dict, LoadReport]:
    """Load every target not yet completed; returns {file: status} and the total report."""
    outcomes, total = {}, LoadReport()
    started = time.monotonic()
    progress = Progress(len(targets))
    loader = ParallelLoader(settings, settings.backfill_workers)
    try:
        with db.connection(settings) as conn, requests.Session() as session:
            for target in targets:
                if not force and _status(conn, target.name) == "completed":
                    outcomes[target.name] = "skipped"
                    progress.file_done()
                    continue
                file_started = time.monotonic()
                status, report = load_target(conn, target, session, loader, progress)
                outcomes[target.name] = status
                total += report
                progress.file_done()
                seconds = time.monotonic() - file_started
                log.info("%s %s: %s lines, %s | %.1fs, %s events/s", status.capitalize(), target.name,
                         f"{report.lines:,}", report.summary(), seconds,
                         f"{(report.inserted + report.duplicates) / max(seconds, 1e-9):,.0f}")
    finally:
        loader.close()
    progress.close()
    elapsed = time.monotonic() - started
    counts = {s: sum(1 for v in outcomes.values() if v == s) for s in ("completed", "skipped", "partial", "failed")}
    log.info("Backfill summary: %d completed, %d skipped, %d partial, %d failed | %s | %.1fs, %s events/s",
             counts["completed"], counts["skipped"], counts["partial"], counts["failed"], total.summary(), elapsed,
             f"{(total.inserted + total.duplicates) / max(elapsed, 1e-9):,.0f}")
    return outcomes, total


COMPLETENESS_SQL = """
WITH hours AS (
    SELECT generate_series(%(first)s::TIMESTAMP, %(last)s::TIMESTAMP, INTERVAL '1 hour') AS hour
),
bronze_hours AS (
    SELECT date_trunc('hour', (b.raw_data ->> 'created_at')::TIMESTAMPTZ AT TIME ZONE 'UTC') AS hour,
           COUNT(*) AS events,
           COUNT(*) FILTER (WHERE b.source LIKE 'gharchive:%%') AS from_archive,
           COUNT(*) FILTER (WHERE b.source = 'api') AS from_listener
    FROM bronze.raw_events AS b
    WHERE b.raw_data ->> 'created_at' ~ '^\\d{4}-\\d{2}-\\d{2}T\\d{2}'
      -- the expression of bronze's idx_raw_events_created_hour: read only the hours asked for
      AND left(b.raw_data ->> 'created_at', 13) BETWEEN to_char(%(first)s::TIMESTAMP, 'YYYY-MM-DD"T"HH24')
                                                    AND to_char(%(last)s::TIMESTAMP, 'YYYY-MM-DD"T"HH24')
    GROUP BY 1
),
gold_hours AS (
    SELECT date_trunc('hour', f.event_time) AS hour, COUNT(*) AS events
    FROM gold.fact_events AS f
    WHERE f.date_id BETWEEN to_char(%(first)s::TIMESTAMP, 'YYYYMMDD')::INT   -- indexed: read only those days
                        AND to_char(%(last)s::TIMESTAMP, 'YYYYMMDD')::INT
      AND f.event_time >= %(first)s::TIMESTAMP AND f.event_time < %(last)s::TIMESTAMP + INTERVAL '1 hour'
    GROUP BY 1
)
SELECT to_char(h.hour, 'YYYY-MM-DD') || '-' || EXTRACT(HOUR FROM h.hour)::INT AS hour,
       COALESCE(b.events, 0) AS bronze_events,
       COALESCE(g.events, 0) AS gold_events,
       COALESCE(b.from_archive, 0) AS from_archive,
       COALESCE(b.from_listener, 0) AS from_listener,
       CASE WHEN b.events IS NULL THEN 'missing'
            WHEN f.status = 'partial' THEN 'partial archive file'
            WHEN b.from_archive > 0 THEN 'archive'
            WHEN b.from_listener = b.events THEN 'listener sample only'
            ELSE 'other files' END AS coverage
FROM hours AS h
LEFT JOIN bronze_hours AS b ON b.hour = h.hour
LEFT JOIN gold_hours AS g ON g.hour = h.hour
LEFT JOIN bronze.backfill_files AS f
       ON f.file_name = to_char(h.hour, 'YYYY-MM-DD') || '-' || EXTRACT(HOUR FROM h.hour)::INT || '.json.gz'
ORDER BY h.hour
"""


def completeness(conn, first: datetime, last: datetime) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(COMPLETENESS_SQL, {"first": first, "last": last})
        rows = cur.fetchall()
    conn.rollback()
    return rows


def print_report(rows: list[tuple]) -> None:
    from analytics import format_table
    print(format_table(["hour", "bronze_events", "gold_events", "from_archive", "from_listener", "coverage"], rows))
    missing = [r[0] for r in rows if r[5] == "missing"]
    sample = [r[0] for r in rows if r[5] == "listener sample only"]
    print(f"{len(rows)} hours: {len(missing)} missing, {len(sample)} listener sample only"
          + (f"; missing: {', '.join(missing[:24])}{' ...' if len(missing) > 24 else ''}" if missing else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="local .json / .json.gz files, directories or globs")
    parser.add_argument("--from", dest="first", help="first hour, YYYY-MM-DD-H")
    parser.add_argument("--to", dest="last", help="last hour, YYYY-MM-DD-H (default: same as --from)")
    parser.add_argument("--force", action="store_true", help="reload files already completed")
    parser.add_argument("--etl", action="store_true", help="run the silver + gold cycle after loading")
    parser.add_argument("--report", action="store_true", help="print per-hour completeness for --from..--to")
    args = parser.parse_args(argv)
    settings = start_process()
    try:
        first = parse_hour(args.first) if args.first else None
        last = parse_hour(args.last) if args.last else first
    except SystemExit as exc:
        parser.error(str(exc))  # a usage error: argparse's one line and exit 2
    if args.report:
        if not first:
            parser.error("--report needs --from (and optionally --to)")
        with db.connection(settings) as conn:
            print_report(completeness(conn, first, last))
        return 0
    base_url = settings.gharchive_url
    try:
        targets = file_targets(args.inputs) if args.inputs else []
    except (UnsupportedInput, FileNotFoundError) as exc:
        for line in str(exc).splitlines():
            log.error("%s", line)
        return lifecycle.EXIT_CONFIG
    if first:
        targets += hour_targets(first, last, base_url)
    if not targets:
        parser.error("nothing to load: give files, or --from/--to hours")
    log.info("Backfilling %d file(s) into %s.", len(targets), db.describe(settings))
    outcomes, _ = run_backfill(settings, targets, force=args.force)
    failed = [name for name, status in outcomes.items() if status in ("partial", "failed")]
    if args.etl:
        from process_etl import EtlScheduler
        if not EtlScheduler(settings).run_cycle():
            return 1
    if failed:
        log.error("%d file(s) not loaded completely: %s", len(failed), ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    exit_with(main)
