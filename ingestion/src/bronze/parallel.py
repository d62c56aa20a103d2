"""Loading one file's chunks on several connections at once (BACKFILL_WORKERS)."""

from __future__ import annotations

import queue
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ghdw.bronze_loader import LoadReport, load_chunk
from ghdw.core import db


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
