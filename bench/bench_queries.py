"""Time the specification's queries (Q1-Q3) and health checks on a large warehouse.

    python bench/bench_queries.py --events 5000000          (about 10 minutes on 2 cores)
    python bench/bench_queries.py --events 20000 --json     (CI smoke size)

Loading millions of real-sized events through the pipeline takes hours and ~3 KB of disk per
event; the queries never read raw payloads, only ids and keys. So this script fills a fresh
warehouse set-based, in SQL: N bronze rows (a minimal payload), N silver rows and N gold facts,
with GH Archive's shape: created_at spread over the last --days days (GH Archive carries
~120,000 events an hour, so 5,000,000 events are ~2 days), actors and repositories drawn from
skewed distributions (a few very active ones, a long tail), the event-type mix of the recorded
data. Then VACUUM ANALYZE (what autovacuum does on a live warehouse) and each query is run
--repeats times: the first (cold) run and the best run are printed. Figures only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from bench_pipeline import drop_database, fresh_database

from ghdw.config import load_settings
from ghdw.core import db
from ghdw.core.sqlfiles import load_sql
from ghdw.ops import questions
from ghdw.ops.queries import NamedQuery, fast_queries, health_queries, sample_queries

REPO_ROOT = Path(__file__).resolve().parents[1]
REPOSITORY_MANIFEST = REPO_ROOT / "dashboards" / "repository_dashboard.json"

# Each statement is run with %(events)s, %(actors)s, %(repos)s, %(days)s.
FILL_SQL = [
    (
        "actors",
        """
INSERT INTO gold.dim_actors (actor_id, actor_login, last_event_time)
SELECT a, 'user' || a, now() AT TIME ZONE 'UTC' FROM generate_series(1, %(actors)s) AS a""",
    ),
    (
        "repos",
        """
INSERT INTO gold.dim_repos (repo_id, repo_name, repo_owner, repo_project, last_event_time)
SELECT r, 'owner' || (r %% 50000) || '/project' || r, 'owner' || (r %% 50000), 'project' || r,
       now() AT TIME ZONE 'UTC'
  FROM generate_series(1, %(repos)s) AS r""",
    ),
    (
        "bronze",
        """
INSERT INTO bronze.raw_events (event_id, raw_data, source)
SELECT (40000000000 + i)::text, jsonb_build_object('id', (40000000000 + i)::text), 'bench'
  FROM generate_series(1, %(events)s) AS i""",
    ),
    (
        "silver",
        """
INSERT INTO silver.events (event_id, event_type, actor_id, actor_login, repo_id, repo_name, is_public,
                           created_at_raw, event_time, bronze_ingested_at)
SELECT g.event_id, g.event_type, g.actor_id::text, 'user' || g.actor_id, g.repo_id::text,
       'owner' || (g.repo_id %% 50000) || '/project' || g.repo_id, TRUE,
       to_char(g.event_time, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), g.event_time, now()
  FROM (SELECT (40000000000 + i)::text AS event_id,
               -- skewed: the low ids are the very active actors and repositories
               1 + floor(%(actors)s * power(random(), 3))::bigint AS actor_id,
               1 + floor(%(repos)s * power(random(), 4))::bigint AS repo_id,
               (ARRAY['PushEvent','PushEvent','PushEvent','PushEvent','PushEvent','PushEvent',
                      'CreateEvent','CreateEvent','PullRequestEvent','IssueCommentEvent',
                      'WatchEvent','WatchEvent','DeleteEvent','IssuesEvent','ForkEvent',
                      'PullRequestReviewEvent','ReleaseEvent','GollumEvent'])[1 + (i %% 18)] AS event_type,
               date_trunc('second', now() AT TIME ZONE 'UTC')
                 - make_interval(secs => (%(days)s * 86400.0) * (%(events)s - i) / %(events)s) AS event_time
          FROM generate_series(1, %(events)s) AS i) AS g""",
    ),
    (
        "gold facts",
        """
INSERT INTO gold.fact_events (event_id, date_id, actor_id, repo_id, event_type, event_time, event_hour,
                              silver_processed_at)
SELECT s.event_id, to_char(s.event_time, 'YYYYMMDD')::int, s.actor_id::bigint, s.repo_id::bigint,
       s.event_type, s.event_time, EXTRACT(HOUR FROM s.event_time)::int, s.processed_at AT TIME ZONE 'UTC'
  FROM silver.events AS s""",
    ),
    (
        "payload facts",
        """
WITH e AS (SELECT event_id, date_id, actor_id, repo_id, event_time, event_type,
                  abs(hashtext(event_id)) AS h FROM gold.fact_events),
stars AS (INSERT INTO gold.fact_stars (event_id, date_id, actor_id, repo_id, event_time)
          SELECT event_id, date_id, actor_id, repo_id, event_time FROM e WHERE event_type = 'WatchEvent'),
forks AS (INSERT INTO gold.fact_forks (event_id, date_id, actor_id, repo_id, event_time)
          SELECT event_id, date_id, actor_id, repo_id, event_time FROM e WHERE event_type = 'ForkEvent'),
pushes AS (INSERT INTO gold.fact_pushes (event_id, date_id, actor_id, repo_id, event_time, ref, branch, push_size)
           -- one push in ten without size, like the API's payloads after 2025-10-07
           SELECT event_id, date_id, actor_id, repo_id, event_time, 'refs/heads/main', 'main',
                  CASE WHEN h %% 10 <> 0 THEN 1 + h %% 5 END
             FROM e WHERE event_type = 'PushEvent'),
prs AS (INSERT INTO gold.fact_pull_request_events (event_id, date_id, actor_id, repo_id, event_time, pr_number,
                                                   action, is_merged, additions, deletions)
        SELECT event_id, date_id, actor_id, repo_id, event_time, (h %% 5000)::INT,
               (ARRAY['opened', 'closed', 'synchronize'])[1 + h %% 3], h %% 2 = 0, h %% 500, h %% 100
          FROM e WHERE event_type = 'PullRequestEvent'),
issues AS (INSERT INTO gold.fact_issue_events (event_id, date_id, actor_id, repo_id, event_time, issue_number, action)
           SELECT event_id, date_id, actor_id, repo_id, event_time, (h %% 5000)::INT,
                  (ARRAY['opened', 'closed'])[1 + h %% 2]
             FROM e WHERE event_type = 'IssuesEvent'),
wiki AS (INSERT INTO gold.fact_wiki_edits (event_id, date_id, actor_id, repo_id, event_time, pages_count)
         SELECT event_id, date_id, actor_id, repo_id, event_time, 1 + (h %% 3)::INT
           FROM e WHERE event_type = 'GollumEvent')
INSERT INTO gold.fact_releases (event_id, date_id, actor_id, repo_id, event_time, action, release_tag)
SELECT event_id, date_id, actor_id, repo_id, event_time, 'published', 'v' || (h %% 100)
  FROM e WHERE event_type = 'ReleaseEvent'""",
    ),
    (
        "aggregates",
        """
SELECT gold.rebuild_aggregates(), gold.rebuild_repo_daily_activity()""",
    ),
    (
        "watermarks",
        """
UPDATE silver.etl_watermark SET last_xid = pg_current_xact_id(), updated_at = now()""",
    ),
]


def fill(conn, events: int, days: float, log) -> dict:
    params = {"events": events, "days": days, "actors": max(events // 25, 10), "repos": max(events // 40, 10)}
    timings = {}
    with conn.cursor() as cur:
        for name, sql in FILL_SQL:
            started = time.perf_counter()
            cur.execute(sql, params)
            conn.commit()
            timings[name] = round(time.perf_counter() - started, 1)
            log(f"  filled {name} in {timings[name]} s")
    conn.autocommit = True
    with conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute("VACUUM ANALYZE")
        timings["vacuum analyze"] = round(time.perf_counter() - started, 1)
    conn.autocommit = False
    return {**params, "fill_seconds": timings}


# The repository the dashboard figures are timed for: the busiest one (low ids are the busiest).
BUSIEST_REPO = "owner1/project1"
# The question-suite questions a dashboard shows for one repository (issue 14).
REPOSITORY_QUESTIONS = (
    "stars_by_repository",
    "forks_by_repository",
    "pull_requests_by_repository",
    "issues_by_repository",
    "commits_by_repository",
    "releases_by_repository",
    "stars_per_week",
    "repository_activity_per_day",
)


def dashboard_questions() -> list[tuple[NamedQuery, dict | None]]:
    """The repository dashboard's Metabase questions (filter set to the busiest repository) and the
    suite's per-repository questions, as (query, parameters)."""
    found: list[tuple[NamedQuery, dict | None]] = []
    manifest = json.loads(REPOSITORY_MANIFEST.read_text(encoding="utf-8"))
    for question in manifest["questions"]:
        text = (REPOSITORY_MANIFEST.parent / question["sql"]).read_text(encoding="utf-8")
        text = text.replace("[[", "").replace("]]", "").replace("{{repo}}", "%(repo)s")
        found.append((NamedQuery(f"Metabase: {question['name']} ({BUSIEST_REPO})", text), {"repo": BUSIEST_REPO}))
    for name in REPOSITORY_QUESTIONS:
        text = load_sql(f"{questions.QUESTIONS_DIR}/{name}.sql")
        found.append(
            (
                NamedQuery(f"question {name} --repo {BUSIEST_REPO}", text),
                questions.question_params(BUSIEST_REPO, None, None),
            )
        )
    return found


def time_queries(conn, repeats: int) -> dict:
    results = {}
    with conn.cursor() as cur:
        pipeline_health = NamedQuery(
            "health.py: gold.v_pipeline_health (every graded figure)", "SELECT * FROM gold.v_pipeline_health"
        )
        for query, params in (
            [(q, None) for q in sample_queries()[:3] + fast_queries() + health_queries()]
            + [(pipeline_health, None)]
            + dashboard_questions()
        ):
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                cur.execute(query.sql, params)
                cur.fetchall()
                samples.append((time.perf_counter() - started) * 1000)
            conn.rollback()
            results[query.title] = {"first_ms": round(samples[0], 1), "best_ms": round(min(samples), 1)}
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--days", type=float, default=2.0, help="span of created_at, ending now")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database (bench_queries) afterwards")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    say = (lambda _msg: None) if args.json else print
    admin_settings = load_settings()
    name = "bench_queries" if args.keep else f"bench_queries_{os.getpid()}"
    settings = fresh_database(admin_settings, name)
    figures: dict = {
        "events": args.events,
        "days": args.days,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    try:
        with db.connection(settings) as conn:
            say(f"Filling a warehouse with {args.events:,} events over {args.days} days ...")
            figures.update(fill(conn, args.events, args.days, say))
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                figures["postgres"] = cur.fetchone()[0]
                cur.execute("SELECT COUNT(*) FROM gold.fact_events")
                figures["gold_rows"] = cur.fetchone()[0]
            conn.rollback()
            figures["query_ms"] = time_queries(conn, args.repeats)
    finally:
        if not args.keep:
            drop_database(admin_settings, name)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"Queries on {figures['gold_rows']:,} gold facts (and as many bronze and silver rows), "
        f"PostgreSQL {figures['postgres']}, {figures['machine']}"
    )
    for title, ms in figures["query_ms"].items():
        print(f"  first {ms['first_ms']:8.1f} ms   best {ms['best_ms']:8.1f} ms   {title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
