"""Loading one file into bronze, the one path for every file load: `main.py --source` (serial, on
the caller's connection, no ledger) and backfill (BACKFILL_WORKERS connections, recorded in the
ledger bronze.backfill_files). The command decides the loader and whether to keep the ledger.

A file streams open -> (gunzip) -> chunks of lines -> the bronze loader, one transaction per
chunk. A damaged file (a truncated gzip) loads what precedes the damage and ends 'partial'.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import requests

from ghdw.bronze.ledger import record_file
from ghdw.bronze.progress import Progress
from ghdw.bronze_loader import LoadReport, load_chunk
from ghdw.core import net_errors
from ghdw.sources.event_files import (
    DEFAULT_CHUNK_BYTES,
    Chunk,
    InputDamaged,
    Source,
    UnsupportedInput,
    file_sources,
    iter_stream_chunks,
    prefetched,
)
from ghdw.sources.gharchive import Target
from ghdw.sources.streams import DOWNLOAD_TIMEOUT, open_target

log = logging.getLogger("ghdw.BACKFILL")

CHUNK_BYTES = DEFAULT_CHUNK_BYTES  # lines per transaction: ~16 MB, 5-8k GH Archive events


class SerialLoader:
    """A file's chunks one after another on the caller's connection (main.py --source)."""

    def __init__(self, conn):
        self.conn = conn

    def load(self, chunks: Iterable[Chunk], source: str, on_done: Callable[[LoadReport], None]) -> None:
        for chunk in chunks:
            on_done(load_chunk(self.conn, chunk, source))

    def close(self) -> None:
        """Nothing to release: the connection is the caller's."""


def file_load_targets(item: Path | Source) -> list[Target]:
    """The targets of one input of `main.py --source`: the file, or each event file of a zip
    archive (a Source is taken as it is). Their source is file:<name> (file:archive.zip/member)."""
    sources = [item] if isinstance(item, Source) else file_sources(Path(item))
    targets = []
    for source in sources:
        uri = source.label[: -len(source.member) - 1] if source.member else source.label
        targets.append(Target(source.label, str(Path(uri).resolve()), source.name, source.member))
    return targets


def load_target(
    conn,
    target: Target,
    loader,
    *,
    session: requests.Session | None = None,
    ledger: bool = True,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> tuple[str, LoadReport, str | None]:
    """Load one target through `loader` (SerialLoader or ParallelLoader); with `ledger`, record it in
    bronze.backfill_files on `conn`. Returns (completed | partial | failed | stopped, report, error).

    A stop request (`stop`) ends the file between chunks: the chunks in flight commit, no new
    one is read, and the file is 'stopped'; in the ledger it stays 'loading', so a rerun loads
    it again (the loader's dedup makes that exact)."""
    report, hashing = LoadReport(), None
    if ledger:
        record_file(conn, target, "loading", report, None, None, finished=False)
    try:
        stream, hashing, closer = open_target(target, session)
    except (OSError, requests.RequestException, UnsupportedInput) as exc:
        reason = (
            net_errors.describe(exc, target.uri, DOWNLOAD_TIMEOUT)
            if isinstance(exc, requests.RequestException)
            else str(exc)
        )
        if ledger:
            record_file(conn, target, "failed", report, None, reason, finished=True)
        log.error("%s: could not be read: %s", target.name, reason)
        return "failed", report, reason
    status, error = "completed", None

    committed = 0

    def done(part: LoadReport) -> None:
        nonlocal report, committed
        report += part
        committed += 1
        if progress:
            progress.add(part.inserted + part.duplicates)

    chunks = prefetched(iter_stream_chunks(stream, CHUNK_BYTES))
    cut_short = False

    def until_stopped():
        nonlocal cut_short
        for chunk in chunks:
            if stop is not None and stop.is_set():
                cut_short = True
                return
            yield chunk

    try:
        loader.load(until_stopped(), target.source, done)
        if cut_short:
            status, error = "stopped", f"stopped after {committed} chunk(s) ({report.lines:,} lines)"
    except (InputDamaged, requests.RequestException, OSError, EOFError) as exc:
        status, error = (
            "partial",
            net_errors.describe(exc, target.uri, DOWNLOAD_TIMEOUT)
            if isinstance(exc, requests.RequestException)
            else f"{type(exc).__name__}: {exc}",
        )
        log.error("%s is damaged after %d lines: %s; loaded what preceded it.", target.name, report.lines, exc)
    finally:
        chunks.close()  # ends the reading thread
        closer.close()
    if ledger:
        if status == "stopped":  # not finished: 'loading', with what has committed so far
            record_file(conn, target, "loading", report, None, error, finished=False)
        else:
            record_file(conn, target, status, report, hashing, error, finished=True)
    return status, report, error
