"""Benchmark the pipeline against PostgreSQL's own COPY, measured in the same run.

    python bench/bench_pipeline.py --events 200000
    python bench/bench_pipeline.py --events 1000 --incremental-bases 1000,5000 --json   (CI smoke size)

It builds N realistic events (the real event shapes of data_samples/ and ../shared/data/real/, with
fresh ids and dates spread over the last 10 days) into a JSON-lines file, then in a fresh database:
  reference   COPY of the same raw lines into a bare JSONB table (PostgreSQL's own limit),
              the median of 6 runs: 3 before the pipeline, 3 after it
  bronze      backfill.py's path: file -> COPY -> set-based insert with dedup and DLQ routing, on one
              connection (like for like with the reference) and on BACKFILL_WORKERS connections
  silver      silver.load_batch() in batches of SILVER_BATCH_SIZE
  gold        master_gold_etl.sql
  end to end  file to gold committed = N / (bronze + silver + gold)
and the cost of one ETL cycle (silver + gold) for 1,000 new events with B events already loaded,
for each B of --incremental-bases (the median of 5 cycles; the ratio is largest base / smallest),
the peak memory of this process (which ran the backfill), and the time of the specification's
Q1-Q3 (and of the dashboards' Q1-Q2 from the gold aggregates) and health checks at that size.
With --legacy it also measures GH Archive's legacy Timeline format (2011-02-12 .. 2014-12-31):
the recorded real legacy events (../shared/data/legacy/) against modern events of similar size
(for each legacy event, the modern template nearest in bytes), both N events, each file to gold
in its own fresh database: "legacy" and "modern_same_size" in --json, and legacy_vs_modern
(end-to-end events/s, legacy / modern; issue 13 asks for at least 0.9).
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import bisect
import copy
import json
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from psycopg2 import sql

from ghdw.bronze.backfill import run_backfill
from ghdw.config import load_settings
from ghdw.core import db
from ghdw.core import schema as setup_db
from ghdw.dev.local_github import DEFAULT_SOURCES, read_events
from ghdw.ops.queries import fast_queries, health_queries, sample_queries
from ghdw.process_gold import run_gold
from ghdw.process_silver import run_silver_configured
from ghdw.sources.gharchive import file_targets
from ghdw.sources.json_split import event_line

REPO_ROOT = Path(__file__).resolve().parents[1]

INCREMENT = 1_000  # new events per measured ETL cycle
# The payload facts the gold run loads beside fact_events (gold/08_payload_facts.sql).
PAYLOAD_FACT_TABLES = (
    "fact_stars",
    "fact_forks",
    "fact_pull_request_events",
    "fact_pull_request_reviews",
    "fact_issue_events",
    "fact_comments",
    "fact_pushes",
    "fact_releases",
    "fact_refs",
    "fact_members",
    "fact_wiki_edits",
)
COPY_REPEATS = 3  # COPY reference runs before the pipeline, and as many after; the median of all is the reference
REPEATS = 5  # incremental cycles measured at each base; the median is reported (issue 14: median of 5)
ID_BASE = 900_000_000_000
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
LEGACY_SAMPLE = SHARED_DIR / "data" / "legacy" / "gh4j__2014-06-01-1.first500.json"
# Legacy events are dated from here, one second apart: inside the legacy era (before 2015) for any
# size up to tens of millions of events.
LEGACY_BENCH_START = datetime(2012, 1, 1)


# The loader's COPY (ghdw.bronze_loader.COPY_SQL) into a plain jsonb table: the reference speed.
REFERENCE_COPY_SQL = r"COPY public.bench_reference (doc) FROM STDIN WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')"


def write_events(path: Path, count: int, first_id: int, templates: list[dict], days: int = 10) -> None:
    """`count` events cycling through real templates, fresh ids, created_at over the last `days`."""
    end = datetime.now(timezone.utc).replace(microsecond=0)
    step = days * 86_400 / max(count, 1)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            event = copy.copy(templates[i % len(templates)])
            event["id"] = str(first_id + i)
            event["created_at"] = (end - timedelta(seconds=(count - i) * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(event_line(event) + "\n")


def legacy_templates() -> list[dict]:
    if not LEGACY_SAMPLE.is_file():
        raise SystemExit(f"--legacy: recorded legacy events not found at {LEGACY_SAMPLE} (set SHARED_DIR)")
    with open(LEGACY_SAMPLE, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_legacy_events(path: Path, count: int, templates: list[dict]) -> None:
    """`count` legacy events cycling through the recorded ones; each gets its own created_at (in
    Pacific winter time, as GH Archive's legacy files carry it), so no two share a synthetic id."""
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            event = copy.copy(templates[i % len(templates)])
            moment = LEGACY_BENCH_START + timedelta(seconds=i)
            event["created_at"] = moment.strftime("%Y-%m-%dT%H:%M:%S-08:00")
            out.write(event_line(event) + "\n")


def size_matched(modern: list[dict], legacy: list[dict]) -> list[dict]:
    """For each legacy template, the modern template nearest to it in bytes."""
    by_size = sorted((len(event_line(e)), i) for i, e in enumerate(modern))
    sizes = [size for size, _ in by_size]
    chosen = []
    for event in legacy:
        at = min(bisect.bisect_left(sizes, len(event_line(event))), len(sizes) - 1)
        chosen.append(modern[by_size[at][1]])
    return chosen


def file_to_gold(admin_settings, name: str, data: Path) -> dict:
    """One file through bronze (BACKFILL_WORKERS connections), silver and gold in a fresh database."""
    settings = fresh_database(admin_settings, name)
    try:
        t_bronze = timed(lambda: run_backfill(settings, file_targets([str(data)])))
        with db.connection(settings) as conn:
            t_silver = timed(lambda: run_silver_configured(conn, settings))
            t_gold = timed(lambda: run_gold(conn))
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM gold.fact_events")
                rows = cur.fetchone()[0]
            conn.commit()
    finally:
        drop_database(admin_settings, name)
    with open(data, "rb") as lines:
        n = sum(1 for _ in lines)
    return {
        "events": n,
        "gold_rows": rows,
        "mean_bytes": round(data.stat().st_size / max(n, 1)),
        "bronze_eps": round(n / t_bronze),
        "silver_eps": round(n / t_silver),
        "gold_eps": round(n / t_gold),
        "end_to_end_eps": round(n / (t_bronze + t_silver + t_gold)),
    }


def copy_reference_runs(settings, data: Path) -> list[float]:
    """COPY_REPEATS timed COPYs of the input into public.bench_reference, each into an emptied table."""
    runs = []
    with db.connection(settings) as conn:
        with conn.cursor() as cur:

            def copy_reference():
                with open(data, "rb") as source:
                    cur.copy_expert(REFERENCE_COPY_SQL, source)
                conn.commit()

            for _ in range(COPY_REPEATS):
                cur.execute("TRUNCATE public.bench_reference")
                conn.commit()
                runs.append(timed(copy_reference))
            cur.execute("TRUNCATE public.bench_reference")
            conn.commit()
    return runs


def fresh_database(admin_settings, name: str):
    with db.connection(admin_settings, dbname="postgres") as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    kwargs = db.connect_kwargs(admin_settings, dbname=name)
    settings = admin_settings
    if "dsn" in kwargs:
        settings = replace(admin_settings, database_url=db.database_url(admin_settings, name))
    else:
        settings = replace(admin_settings, db_name=name)
    with db.connection(settings) as conn:
        setup_db.apply_schema(conn)
    return settings


def drop_database(admin_settings, name: str) -> None:
    with db.connection(admin_settings, dbname="postgres") as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def etl_cycle(settings) -> None:
    with db.connection(settings) as conn:
        run_silver_configured(conn, settings)
        run_gold(conn)


def measure_incremental(admin_settings, base: int, templates, workdir: Path) -> list[float]:
    """Seconds of each of REPEATS silver + gold cycles for INCREMENT new events on top of `base` loaded ones."""
    name = f"bench_incr_{os.getpid()}"
    settings = fresh_database(admin_settings, name)
    try:
        base_file = workdir / f"base_{base}.json"
        write_events(base_file, base, ID_BASE + 50_000_000, templates)
        run_backfill(settings, file_targets([str(base_file)]))
        etl_cycle(settings)
        with db.connection(settings) as conn, conn.cursor() as cur:
            conn.autocommit = True
            cur.execute("VACUUM ANALYZE")
        samples = []
        for repeat in range(REPEATS):
            new_file = workdir / f"incr_{base}_{repeat}.json"
            write_events(new_file, INCREMENT, ID_BASE + 90_000_000 + repeat * INCREMENT, templates)
            run_backfill(settings, file_targets([str(new_file)]))
            samples.append(timed(lambda: etl_cycle(settings)))
        return samples
    finally:
        drop_database(admin_settings, name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--incremental-bases",
        default="10000,1000000",
        help="comma-separated sizes of the warehouse before the measured 1,000-event cycle",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--legacy", action="store_true", help="also measure legacy Timeline events against modern ones of similar size"
    )
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the loaders' per-batch lines would swamp the figures
    admin_settings = load_settings()
    templates = read_events(DEFAULT_SOURCES)
    name = f"bench_{os.getpid()}"
    figures: dict = {
        "events": args.events,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = workdir / "events.json"
        write_events(data, args.events, ID_BASE, templates)
        figures["input_mb"] = round(data.stat().st_size / 1e6, 1)
        settings = fresh_database(admin_settings, name)
        try:
            with db.connection(settings) as conn:
                with conn.cursor() as cur:
                    cur.execute("SHOW server_version")
                    figures["postgres"] = cur.fetchone()[0]
                    cur.execute("CREATE TABLE public.bench_reference (doc JSONB)")
                    conn.commit()
            # The reference is the denominator of every ratio: COPY_REPEATS runs before the pipeline
            # and as many after it (each into an emptied table), the median of all, so neither one
            # slow or fast run nor the machine's speed drifting during the run moves every ratio.
            copies = copy_reference_runs(settings, data)
            # The same load on one connection, in its own database: the like-for-like comparison
            # with the single-backend COPY reference. The pipeline's figure uses BACKFILL_WORKERS.
            single = fresh_database(admin_settings, f"{name}_1c")
            try:
                t_bronze_1 = timed(lambda: run_backfill(replace(single, backfill_workers=1), file_targets([str(data)])))
            finally:
                drop_database(admin_settings, f"{name}_1c")
            t_bronze = timed(lambda: run_backfill(settings, file_targets([str(data)])))
            figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            with db.connection(settings) as conn:
                t_silver = timed(lambda: run_silver_configured(conn, settings))
                t_gold = timed(lambda: run_gold(conn))
            copies += copy_reference_runs(settings, data)
            t_copy = statistics.median(copies)
            figures["copy_runs_eps"] = [round(args.events / t) for t in copies]
            with db.connection(settings) as conn:
                with conn.cursor() as cur:
                    cur.execute("SELECT COUNT(*) FROM gold.fact_events")
                    figures["gold_rows"] = cur.fetchone()[0]
                    # Every payload fact is loaded in the gold run measured above (issue 14).
                    payload_facts = {}
                    for table in PAYLOAD_FACT_TABLES:
                        cur.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier("gold", table)))
                        payload_facts[table] = cur.fetchone()[0]
                    figures["payload_fact_rows"] = payload_facts
                conn.commit()
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("VACUUM ANALYZE")
                    query_times = {}
                    for query in sample_queries()[:3] + fast_queries() + health_queries():
                        samples = []
                        for _ in range(3):
                            started = time.perf_counter()
                            cur.execute(query.sql)
                            cur.fetchall()
                            samples.append(time.perf_counter() - started)
                        query_times[query.title] = round(min(samples) * 1000, 1)
            n = args.events
            figures.update(
                {
                    "copy_eps": round(n / t_copy),
                    "bronze_eps": round(n / t_bronze),
                    "silver_eps": round(n / t_silver),
                    "gold_eps": round(n / t_gold),
                    "end_to_end_eps": round(n / (t_bronze + t_silver + t_gold)),
                }
            )
            figures["bronze_vs_copy"] = round(figures["bronze_eps"] / figures["copy_eps"], 3)
            figures["backfill_workers"] = settings.backfill_workers
            figures["silver_workers"] = settings.silver_workers
            figures["silver_batch_size"] = settings.silver_batch_size
            figures["bronze_1conn_eps"] = round(n / t_bronze_1)
            figures["bronze_1conn_vs_copy"] = round(figures["bronze_1conn_eps"] / figures["copy_eps"], 3)
            figures["end_to_end_vs_copy"] = round(figures["end_to_end_eps"] / figures["copy_eps"], 3)
            figures["query_ms"] = query_times
        finally:
            drop_database(admin_settings, name)
        if args.legacy:
            legacy = legacy_templates()
            legacy_file, modern_file = workdir / "legacy.json", workdir / "modern_same_size.json"
            write_legacy_events(legacy_file, args.events, legacy)
            write_events(modern_file, args.events, ID_BASE, size_matched(templates, legacy))
            figures["modern_same_size"] = file_to_gold(admin_settings, f"{name}_modern", modern_file)
            figures["legacy"] = file_to_gold(admin_settings, f"{name}_legacy", legacy_file)
            figures["legacy_vs_modern"] = round(
                figures["legacy"]["end_to_end_eps"] / figures["modern_same_size"]["end_to_end_eps"], 3
            )
        bases = [int(b) for b in args.incremental_bases.split(",") if b.strip()]
        runs = {base: measure_incremental(admin_settings, base, templates, workdir) for base in bases}
        cycles = {base: statistics.median(samples) for base, samples in runs.items()}
        figures["incremental_cycle_ms"] = {str(b): round(s * 1000, 1) for b, s in cycles.items()}
        figures["incremental_cycle_runs_ms"] = {str(b): [round(s * 1000, 1) for s in v] for b, v in runs.items()}
        figures["incremental_ratio"] = round(cycles[bases[-1]] / cycles[bases[0]], 2) if len(bases) > 1 else None
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"Benchmark: {figures['events']:,} events ({figures['input_mb']} MB of JSON lines), "
        f"PostgreSQL {figures['postgres']}, {figures['machine']}"
    )
    for key, label in (
        ("copy_eps", "COPY reference (bare JSONB table)"),
        ("bronze_1conn_eps", "bronze load, 1 connection"),
        ("bronze_eps", f"bronze load, {figures['backfill_workers']} connections"),
        ("silver_eps", "silver"),
        ("gold_eps", "gold"),
        ("end_to_end_eps", "end to end, file to gold"),
    ):
        ratio = figures[key] / figures["copy_eps"]
        print(f"  {label:36s} {figures[key]:>10,} events/s   {ratio:5.2f} x COPY")
    for base, ms in figures["incremental_cycle_ms"].items():
        runs = ", ".join(f"{r:.0f}" for r in figures["incremental_cycle_runs_ms"][base])
        print(f"  ETL cycle, {INCREMENT:,} new events on {int(base):>9,} loaded: {ms:8.1f} ms (median of {runs})")
    if figures["incremental_ratio"] is not None:
        print(f"  incremental ratio (largest / smallest base): {figures['incremental_ratio']}")
    print(f"  peak RSS of the backfilling process: {figures['peak_rss_mb']} MB")
    if args.legacy:
        for key in ("modern_same_size", "legacy"):
            f = figures[key]
            print(
                f"  {key:17s} ({f['mean_bytes']:,} bytes/event): bronze {f['bronze_eps']:,}, "
                f"silver {f['silver_eps']:,}, "
                f"gold {f['gold_eps']:,}, end to end {f['end_to_end_eps']:,} events/s"
            )
        print(f"  legacy / modern, end to end: {figures['legacy_vs_modern']}")
    for title, ms in figures["query_ms"].items():
        print(f"  {ms:8.1f} ms  {title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
