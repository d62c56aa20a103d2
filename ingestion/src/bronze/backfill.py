"""Backfill bronze from GH Archive (complete history), resumably, at close to COPY speed.

    python ingestion/src/backfill.py --from 2024-01-01-0 --to 2024-01-01-23     fetch hours from GHARCHIVE_URL
    python ingestion/src/backfill.py data/2024-01-01-*.json.gz                 local files, directories or globs
    python ingestion/src/backfill.py --force ...                               reload files already completed
    python ingestion/src/backfill.py --etl ...                                 run silver + gold afterwards
    python ingestion/src/backfill.py --report --from 2024-01-01-0 --to 2024-01-01-23
                                                                               completeness, per UTC hour

Hours name GH Archive's files: from 2015-01-01-0 in UTC; before that (2011-02-12-0 .. 2014-12-31-23,
the legacy Timeline format) in US Pacific time, so --from 2012-06-01-0 starts at 07:00 UTC. Both
formats load alike; the report's rows are UTC hours, each with its file and format.

Each file streams download -> gunzip -> chunks of lines -> COPY -> one set-based insert (the bronze
loader), one transaction per chunk, with no temp file and flat memory; the next chunk is read while
BACKFILL_WORKERS connections (default 2) load the previous ones. Its outcome is recorded in
bronze.backfill_files: a rerun skips completed files; a file left 'loading' by a crash or Ctrl-C is
loaded again (the loader's dedup makes that exact). A damaged gzip loads what precedes the damage,
is marked 'partial', and the run goes on; the exit status is then 1.

The pieces: sources.gharchive (which files), sources.streams (opening and hashing), bronze.ledger
(bronze.backfill_files), bronze.parallel (the connections), bronze.progress, and
ops.completeness (--report). This module runs a file through them; main() is the command line.
"""

from __future__ import annotations

import argparse
import logging
import time

import requests

from ghdw.bronze.file_loads import load_target
from ghdw.bronze.ledger import file_status
from ghdw.bronze.parallel import ParallelLoader
from ghdw.bronze.progress import Progress
from ghdw.bronze_loader import LoadReport
from ghdw.core import db, lifecycle
from ghdw.core.lifecycle import exit_with
from ghdw.logger import start_process
from ghdw.ops.completeness import completeness, print_report
from ghdw.sources.event_files import UnsupportedInput
from ghdw.sources.gharchive import InvalidHour, Target, file_targets, hour_targets, parse_hour, utc_hours_of_file

log = logging.getLogger("ghdw.BACKFILL")


def run_backfill(settings, targets: list[Target], force: bool = False) -> tuple[dict, LoadReport]:
    """Load every target not yet completed; returns {file: status} and the total report."""
    outcomes, total = {}, LoadReport()
    started = time.monotonic()
    progress = Progress(len(targets))
    loader = ParallelLoader(settings, settings.backfill_workers)
    try:
        with db.connection(settings) as conn, requests.Session() as session:
            for target in targets:
                if not force and file_status(conn, target.name) == "completed":
                    outcomes[target.name] = "skipped"
                    progress.file_done()
                    continue
                file_started = time.monotonic()
                status, report, _ = load_target(conn, target, loader, session=session, progress=progress)
                outcomes[target.name] = status
                total += report
                progress.file_done()
                seconds = time.monotonic() - file_started
                log.info(
                    "%s %s: %s lines, %s | %.1fs, %s events/s",
                    status.capitalize(),
                    target.name,
                    f"{report.lines:,}",
                    report.summary(),
                    seconds,
                    f"{(report.inserted + report.duplicates) / max(seconds, 1e-9):,.0f}",
                )
    finally:
        loader.close()
    progress.close()
    elapsed = time.monotonic() - started
    counts = {s: sum(1 for v in outcomes.values() if v == s) for s in ("completed", "skipped", "partial", "failed")}
    log.info(
        "Backfill summary: %d completed, %d skipped, %d partial, %d failed | %s | %.1fs, %s events/s",
        counts["completed"],
        counts["skipped"],
        counts["partial"],
        counts["failed"],
        total.summary(),
        elapsed,
        f"{(total.inserted + total.duplicates) / max(elapsed, 1e-9):,.0f}",
    )
    return outcomes, total


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
    except InvalidHour as exc:
        parser.error(str(exc))  # a usage error: argparse's one line and exit 2
    if args.report:
        if not first or not last:
            parser.error("--report needs --from (and optionally --to)")
        # --from/--to name files, like a load; the report's rows are the UTC hours they cover.
        with db.connection(settings) as conn:
            print_report(completeness(conn, utc_hours_of_file(first)[0], utc_hours_of_file(last)[1]))
        return 0
    try:
        targets = file_targets(args.inputs) if args.inputs else []
    except (UnsupportedInput, FileNotFoundError) as exc:
        for line in str(exc).splitlines():
            log.error("%s", line)
        return lifecycle.EXIT_CONFIG
    if first and last:
        targets += hour_targets(first, last, settings.gharchive_url)
    if not targets:
        parser.error("nothing to load: give files, or --from/--to hours")
    log.info("Backfilling %d file(s) into %s.", len(targets), db.describe(settings))
    outcomes, _ = run_backfill(settings, targets, force=args.force)
    failed = [name for name, status in outcomes.items() if status in ("partial", "failed")]
    if args.etl:
        from ghdw.process_etl import EtlScheduler

        if not EtlScheduler(settings).run_cycle():
            return 1
    if failed:
        log.error("%d file(s) not loaded completely: %s", len(failed), ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    exit_with(main)
