"""Progress of a backfill: a tqdm bar on a terminal, a log line every PROGRESS_LOG_SECONDS otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("ghdw.BACKFILL")

PROGRESS_LOG_SECONDS = 10  # when not on a terminal, a progress line this often


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
