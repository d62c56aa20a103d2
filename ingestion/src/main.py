"""Bronze orchestrator.

    python ingestion/src/main.py --once --source PATH   load events from files into bronze, then exit

PATH may be a file (JSON array, JSON lines, a single event object, or gzip of any of these)
or a directory (every *.json / *.json.gz / *.jsonl in it). Unreadable lines go to the
dead-letter queue; the exit status is 0 when every file was read to its end.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import db
from bronze_loader import LoadReport, load_chunks
from config import ConfigError, get_settings
from event_files import InputDamaged, iter_file_chunks
from logger import setup_from_settings

log = logging.getLogger("ORCHESTRATOR")

INPUT_PATTERNS = ("*.json", "*.json.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson", "*.gz")


def expand_sources(paths: list[str]) -> list[Path]:
    """Files named directly, plus the event files inside named directories, sorted."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            matches = {p for pattern in INPUT_PATTERNS for p in path.glob(pattern) if p.is_file()}
            found.extend(sorted(matches))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {name}")
    return found


def load_files(conn, files: list[Path]) -> tuple[LoadReport, list[str]]:
    """Load each file; returns the total report and the files that were damaged."""
    total, damaged = LoadReport(), []
    for path in files:
        started = time.perf_counter()
        source = f"file:{path.name}"
        try:
            report = load_chunks(conn, iter_file_chunks(path), source)
            status = "loaded"
        except InputDamaged as exc:
            # Everything before the damage was loaded; the rest of the file is unreadable.
            report, status = LoadReport(), f"partial ({exc})"
            damaged.append(f"{path}: {exc}")
            log.error("%s is damaged: %s", path, exc)
        total += report
        log.info("%s %s: %s (%d repaired) in %.2fs", status.capitalize().split(" ")[0], path.name,
                 report.summary(), report.repaired, time.perf_counter() - started)
    return total, damaged


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="run one load (or one poll) and exit")
    parser.add_argument("--source", nargs="+", metavar="PATH",
                        help="load events from these files or directories instead of the GitHub API")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_from_settings(settings)
    if not args.source:
        log.error("The live GitHub listener is not available yet; use --once --source PATH.")
        return 2
    try:
        files = expand_sources(args.source)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 2
    log.info("Loading %d file(s) into bronze (%s).", len(files), db.describe(settings))
    with db.connection(settings) as conn:
        total, damaged = load_files(conn, files)
    log.info("Total: %s (%d repaired) from %d file(s).", total.summary(), total.repaired, len(files))
    if damaged:
        log.error("%d file(s) could not be read to the end:\n  %s", len(damaged), "\n  ".join(damaged))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
