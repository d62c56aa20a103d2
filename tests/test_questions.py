"""The payload facts and the question suite (issue 14): gold answers what people ask of GitHub.

Figures on the recorded real events (the modern files, the legacy Timeline hour, and both
together in either order) are computed here independently, in plain Python from the raw files,
and gold and the question suite (run as the BI role) must return exactly those.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from datetime import date, datetime, timezone

import pytest
from conftest import REPO_ROOT, legacy_data_file, make_event, query, real_data_files, scalar
from helpers import load_and_etl, run_cli, run_etl
from test_legacy_format import legacy_event

from dashboards.provision_metabase import REPOSITORY_MANIFEST, load_manifest
from ghdw.bronze_loader import load_events
from ghdw.config import load_settings
from ghdw.core import schema as setup_db
from ghdw.core.sqlfiles import load_sql
from ghdw.main import load_files
from ghdw.ops import questions
from ghdw.ops.health import run_checks

REQUIRED = {
    "stars_by_repository": ["repo_name", "stars"],
    "forks_by_repository": ["repo_name", "forks"],
    "pull_requests_by_repository": ["repo_name", "opened", "merged", "closed"],
    "issues_by_repository": ["repo_name", "opened", "closed"],
    "commits_by_repository": ["repo_name", "commits"],
    "releases_by_repository": ["repo_name", "releases"],
}
PAYLOAD_FACTS = (
    "gold.fact_stars",
    "gold.fact_forks",
    "gold.fact_pull_request_events",
    "gold.fact_pull_request_reviews",
    "gold.fact_issue_events",
    "gold.fact_comments",
    "gold.fact_pushes",
    "gold.fact_releases",
    "gold.fact_refs",
    "gold.fact_members",
    "gold.fact_wiki_edits",
    "gold.agg_repo_daily_activity",
)


# --- plain Python over the raw files ------------------------------------------------------------


def events_in(path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # JSON lines
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [api_shape(e) for e in (data if isinstance(data, list) else [data])]


def api_shape(event: dict) -> dict:
    """A legacy Timeline event (GH Archive before 2015: no id, `repository` {id, owner, name}) in
    the API's shape, which the figures below read; a modern event as it is. Its id stands for
    bronze's synthetic one: the UTC time, then the fields that identify the event (type, actor
    login, repository id, time, payload), so the same event in two files is one."""
    if "id" in event or not isinstance(event.get("repository"), dict):
        return event
    repository = event["repository"]
    utc = _time(event).astimezone(timezone.utc)
    login = event.get("actor") or event["actor_attributes"]["login"]
    identity = json.dumps(
        [event["type"], login.lower(), repository["id"], utc.isoformat(), event.get("payload")], sort_keys=True
    )
    return {
        "id": f"legacy-{utc:%Y%m%d%H%M%S}-{identity}",
        "type": event["type"],
        "created_at": event["created_at"],
        "repo": {"id": repository["id"], "name": f"{repository['owner']}/{repository['name']}"},
        "payload": event.get("payload"),
        "url": event.get("url"),  # a legacy issue comment's page: its number and whether on a pull request
    }


def distinct_events(paths) -> list[dict]:
    """Each event once by id (pages of the live API overlap)."""
    found: dict[str, dict] = {}
    for path in paths:
        for event in events_in(path):
            found.setdefault(str(event["id"]), event)
    return list(found.values())


def _time(event) -> datetime:
    return datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))


def current_repo_names(events) -> dict[str, str]:
    """repo id -> the name of its newest event (the dimension's Type 1 rule)."""
    newest: dict[str, tuple] = {}
    for e in events:
        key = (_time(e), str(e["id"]))
        rid = str(e["repo"]["id"])
        if rid not in newest or key > newest[rid][0]:
            newest[rid] = (key, e["repo"]["name"])
    return {rid: name for rid, (_, name) in newest.items()}


def expected_figures(events) -> dict[str, dict]:
    names = current_repo_names(events)
    f: dict[str, dict] = defaultdict(lambda: Counter())
    for e in events:
        repo = names[str(e["repo"]["id"])]
        p = e.get("payload") or {}
        kind = e["type"]
        if kind == "WatchEvent" and p.get("action") == "started":
            f["stars"][repo] += 1
        elif kind == "ForkEvent":
            f["forks"][repo] += 1
        elif kind == "PullRequestEvent":
            pr = p.get("pull_request") or {}
            if p.get("action") == "opened":
                f["prs_opened"][repo] += 1
            if p.get("action") == "closed":
                f["prs_closed"][repo] += 1
                if pr.get("merged") is True:
                    f["prs_merged"][repo] += 1
                    f["merged_additions"][repo] += pr["additions"]
                    f["merged_deletions"][repo] += pr["deletions"]
            f["pr_repos"][repo] += 0
        elif kind == "IssuesEvent":
            if p.get("action") in ("opened", "closed"):
                f[f"issues_{p['action']}"][repo] += 1
                f["issue_repos"][repo] += 0
        elif kind == "PushEvent":
            f["pushes"][repo] += 1
            if isinstance(p.get("size"), int):
                f["commits"][repo] += p["size"]
        elif kind == "ReleaseEvent" and p.get("action", "published") == "published":
            f["releases"][repo] += 1
        elif kind == "MemberEvent" and p.get("action", "added") == "added":
            member = p.get("member")  # a user object, or the login in the oldest legacy payloads
            login = member.get("login") if isinstance(member, dict) else member
            f["collaborators_added"][(repo, login if isinstance(login, str) else None)] += 1
        elif kind == "GollumEvent":
            f["wiki_edits"][repo] += 1
            if isinstance(p.get("pages"), list):
                f["wiki_pages"][repo] += sum(isinstance(page, dict) for page in p["pages"])
        elif kind == "PublicEvent":
            f["made_public"][repo] += 1
    return f


def comment_page(event: dict) -> str:
    """The page of an IssueCommentEvent's issue: the issue's html_url, or for a legacy Timeline
    comment (payload {issue_id, comment_id}) the event's own url (.../pull/12#issuecomment-...)."""
    issue = (event.get("payload") or {}).get("issue")
    return issue["html_url"] if isinstance(issue, dict) else event["url"]


def comment_kind(event: dict) -> str:
    """An IssueCommentEvent's comment is on a pull request's conversation when its issue's page is
    a pull request's (html_url .../pull/N), not an issue's (.../issues/N)."""
    page = comment_page(event)
    assert "/pull/" in page or "/issues/" in page, page
    return "pull_request" if "/pull/" in page else "issue"


def expected_comments(events) -> tuple[list[dict], list[dict]]:
    """comments_by_repository's rows and issues_with_most_comments' rows, in plain Python."""
    names = current_repo_names(events)
    by_repo: dict[str, Counter] = defaultdict(Counter)
    issues: dict[tuple, dict] = {}
    kinds = {"PullRequestReviewCommentEvent": "review", "CommitCommentEvent": "commit"}
    for e in events:
        if e["type"] not in ("IssueCommentEvent", *kinds):
            continue
        repo = names[str(e["repo"]["id"])]
        p = e.get("payload") or {}
        kind = comment_kind(e) if e["type"] == "IssueCommentEvent" else kinds[e["type"]]
        if p.get("action", "created") == "created":
            by_repo[repo]["comments"] += 1
            by_repo[repo][f"{kind}_comments"] += 1
        number = None
        if kind in ("issue", "pull_request"):
            number = int(re.search(r"/(?:pull|issues)/([0-9]+)", comment_page(e))[1])
        if isinstance(number, int):
            issue = issues.setdefault(
                (repo, number),
                {
                    "repo_name": repo,
                    "issue_number": number,
                    "comments": 0,
                    "max_reported_comments": None,
                    "is_pull_request": False,
                },
            )
            issue["comments"] += 1
            reported = (p.get("issue") or {}).get("comments")
            if isinstance(reported, int):
                issue["max_reported_comments"] = max(reported, issue["max_reported_comments"] or 0)
            issue["is_pull_request"] |= kind == "pull_request"
    columns = ("comments", "issue_comments", "pull_request_comments", "review_comments", "commit_comments")
    repos = [{"repo_name": repo, **{c: n[c] for c in columns}} for repo, n in by_repo.items() if n["comments"]]
    repos.sort(key=lambda r: (-r["comments"], r["repo_name"]))
    most = sorted(issues.values(), key=lambda r: (-r["comments"], r["repo_name"], r["issue_number"]))
    return repos, most[:100]  # the question's LIMIT


def ranked(counter: Counter) -> list[tuple]:
    """(repo_name, n) for n > 0, in the suite's order: measure descending, then repo_name."""
    return sorted(((k, v) for k, v in counter.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))


# --- gold and the suite ------------------------------------------------------------------------


def ask(conn, name, repo=None, from_day=None, to_day=None, as_role="gh_bi"):
    """One question, run as the BI role (gold only), as analytics.py runs it."""
    with conn.cursor() as cur:
        cur.execute(f"SET ROLE {as_role}")
        try:
            return questions.run_question(cur, name, repo, from_day, to_day)
        finally:
            conn.rollback()


def pairs(rows, *columns) -> list[tuple]:
    return [tuple(r[c] for c in columns) for r in rows]


@pytest.fixture
def real_gold(conn):
    files = real_data_files()
    load_files(conn, files)
    run_etl(conn)
    return conn, expected_figures(distinct_events(files))


# The recorded data sets: groups of files, loaded in this order with a gold run after each group.
RECORDED = {
    "modern": lambda: [real_data_files()],
    "legacy": lambda: [[legacy_data_file()]],
    "legacy_then_modern": lambda: [[legacy_data_file()], real_data_files()],
    "modern_then_legacy": lambda: [real_data_files(), [legacy_data_file()]],
}


@pytest.fixture(params=list(RECORDED))
def recorded_gold(request, conn):
    """Gold after loading one recorded data set, and its figures computed from the raw files."""
    groups = RECORDED[request.param]()
    for files in groups:
        load_files(conn, files)
        run_etl(conn)
    events = distinct_events([path for files in groups for path in files])
    figures = expected_figures(events)
    figures["comments"] = expected_comments(events)
    return conn, figures


@pytest.mark.slow
def test_real_events_stars_forks_releases_match_plain_python(recorded_gold):
    conn, want = recorded_gold
    assert pairs(ask(conn, "stars_by_repository"), "repo_name", "stars") == ranked(want["stars"])
    assert pairs(ask(conn, "forks_by_repository"), "repo_name", "forks") == ranked(want["forks"])
    assert pairs(ask(conn, "releases_by_repository"), "repo_name", "releases") == ranked(want["releases"])
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_stars") == sum(want["stars"].values())


@pytest.mark.slow
def test_real_events_pull_requests_and_merged_changes_match_plain_python(recorded_gold):
    conn, want = recorded_gold
    got = {r["repo_name"]: (r["opened"], r["merged"], r["closed"]) for r in ask(conn, "pull_requests_by_repository")}
    assert got == {
        repo: (want["prs_opened"][repo], want["prs_merged"][repo], want["prs_closed"][repo])
        for repo in want["pr_repos"]
    }
    changes = {r["repo_name"]: (r["additions"], r["deletions"]) for r in ask(conn, "merged_pull_request_changes")}
    assert changes == {
        repo: (want["merged_additions"][repo], want["merged_deletions"][repo]) for repo in want["prs_merged"]
    }


@pytest.mark.slow
def test_real_events_commits_and_issues_match_plain_python(recorded_gold):
    conn, want = recorded_gold
    commits = {r["repo_name"]: r["commits"] for r in ask(conn, "commits_by_repository")}
    assert commits == {repo: want["commits"][repo] for repo in want["pushes"]}
    issues = {r["repo_name"]: (r["opened"], r["closed"]) for r in ask(conn, "issues_by_repository")}
    assert issues == {repo: (want["issues_opened"][repo], want["issues_closed"][repo]) for repo in want["issue_repos"]}


@pytest.mark.slow
def test_every_detail_fact_row_has_its_fact_events_row_with_the_same_keys(real_gold):
    # The detail facts declare no foreign keys (08_payload_facts.sql says why): their keys hold
    # by construction, copied from the fact_events row of the same event, which enforces its own.
    conn, _ = real_gold
    for table in PAYLOAD_FACTS:
        if table.endswith("agg_repo_daily_activity"):
            continue
        orphans = scalar(
            conn,
            f"SELECT COUNT(*) FROM {table} AS d WHERE NOT EXISTS (SELECT 1 FROM gold.fact_events AS f "
            "WHERE f.event_id = d.event_id AND f.date_id = d.date_id AND f.actor_id = d.actor_id "
            "AND f.repo_id = d.repo_id AND f.event_time = d.event_time)",
        )
        assert orphans == 0, table
        assert scalar(conn, f"SELECT COUNT(*) FROM {table}") > 0, table


@pytest.mark.slow
def test_real_events_collaborators_wiki_edits_and_public_repositories_match_plain_python(recorded_gold):
    conn, want = recorded_gold
    added = Counter((r["repo_name"], r["member_login"]) for r in ask(conn, "collaborators_added"))
    assert added == want["collaborators_added"]
    wiki = {r["repo_name"]: (r["wiki_edits"], r["pages"]) for r in ask(conn, "wiki_edits_by_repository")}
    assert wiki == {repo: (n, want["wiki_pages"].get(repo)) for repo, n in want["wiki_edits"].items()}
    assert Counter(r["repo_name"] for r in ask(conn, "repositories_made_public")) == want["made_public"]


@pytest.mark.slow
def test_real_events_comments_split_by_issue_and_pull_request_as_the_issues_page_says(real_gold):
    # The 2013 API sent "pull_request": {"html_url": null, ...} on plain issues (event 1652857697,
    # pat/thinking-sphinx issue 415): an issue comment, not a pull request comment.
    conn, _ = real_gold
    repos, most = expected_comments(distinct_events(real_data_files()))
    assert ask(conn, "comments_by_repository") == repos
    assert ask(conn, "issues_with_most_comments") == most
    sphinx = ask(conn, "comments_by_repository", repo="pat/thinking-sphinx")
    assert pairs(sphinx, "issue_comments", "pull_request_comments") == [(1, 0)]


@pytest.mark.slow
def test_recorded_comments_split_by_each_comments_page_legacy_included(recorded_gold):
    # Legacy Timeline issue comments say their number and kind only in the event's url
    # (https://github.com/o/r/pull/12#issuecomment-...): 14 of the 40 in the legacy hour are on pull requests.
    conn, want = recorded_gold
    repos, most = want["comments"]
    assert ask(conn, "comments_by_repository") == repos
    assert ask(conn, "issues_with_most_comments") == most


@pytest.mark.slow
def test_payload_facts_log_line_counts_every_detail_fact_row_inserted(conn):
    load_files(conn, real_data_files())
    notices = run_etl(conn)
    (line,) = [n for n in notices if n.startswith("payload facts:")]
    details = sum(scalar(conn, f"SELECT COUNT(*) FROM {t}") for t in PAYLOAD_FACTS if ".fact_" in t)
    assert int(line.split()[2]) == details
    (again,) = [n for n in run_etl(conn) if n.startswith("payload facts:")]
    assert int(again.split()[2]) == 0  # nothing new: nothing inserted


# Each figure straight from its payload fact (the suite reads most of them from the aggregate).
FACT_FIGURES = {
    "stars": "SELECT repo_id, COUNT(*) FROM gold.fact_stars GROUP BY 1",
    "forks": "SELECT repo_id, COUNT(*) FROM gold.fact_forks GROUP BY 1",
    "prs_opened": "SELECT repo_id, COUNT(*) FROM gold.fact_pull_request_events WHERE action = 'opened' GROUP BY 1",
    "prs_closed": "SELECT repo_id, COUNT(*) FROM gold.fact_pull_request_events WHERE action = 'closed' GROUP BY 1",
    "prs_merged": "SELECT repo_id, COUNT(*) FROM gold.fact_pull_request_events "
    "WHERE action = 'closed' AND is_merged GROUP BY 1",
    "merged_additions": "SELECT repo_id, SUM(additions) FROM gold.fact_pull_request_events "
    "WHERE action = 'closed' AND is_merged GROUP BY 1",
    "merged_deletions": "SELECT repo_id, SUM(deletions) FROM gold.fact_pull_request_events "
    "WHERE action = 'closed' AND is_merged GROUP BY 1",
    "pushes": "SELECT repo_id, COUNT(*) FROM gold.fact_pushes GROUP BY 1",
    "commits": "SELECT repo_id, SUM(push_size) FROM gold.fact_pushes WHERE push_size IS NOT NULL GROUP BY 1",
    "issues_opened": "SELECT repo_id, COUNT(*) FROM gold.fact_issue_events WHERE action = 'opened' GROUP BY 1",
    "issues_closed": "SELECT repo_id, COUNT(*) FROM gold.fact_issue_events WHERE action = 'closed' GROUP BY 1",
    "releases": "SELECT repo_id, COUNT(*) FROM gold.fact_releases "
    "WHERE action IS NULL OR action = 'published' GROUP BY 1",
}


@pytest.mark.slow
def test_real_events_payload_facts_match_plain_python(recorded_gold):
    conn, want = recorded_gold
    names = dict(query(conn, "SELECT repo_id, repo_name FROM gold.dim_repos"))
    for figure, sql in FACT_FIGURES.items():
        got: Counter = Counter()
        for repo_id, n in query(conn, sql):
            got[names[repo_id]] += n
        assert got == want[figure], figure  # Counters: a missing repository counts as 0


@pytest.mark.slow
def test_every_question_runs_as_the_bi_role_on_real_events_with_and_without_filters(real_gold):
    conn, want = real_gold
    busiest = ranked(want["stars"])[0][0]
    assert len(questions.question_names()) >= 20
    for name in questions.question_names():
        ask(conn, name)
        ask(conn, name, repo=busiest, from_day=date(2015, 1, 1), to_day=date(2015, 1, 1))


def expected_open_pull_requests(events) -> Counter:
    """Open pull requests per repository after the last event, by the suite's rule: the last
    opened/reopened/closed event (by time, then GitHub's numeric id) decides; a pull request with
    none is open when its payload has created_at and no close is known."""
    names = current_repo_names(events)
    lifecycle: dict[tuple, list] = defaultdict(list)
    payload_times: dict[tuple, dict] = defaultdict(lambda: {"created": False, "closed": False})
    for e in events:
        p = e.get("payload") or {}
        if e["type"] != "PullRequestEvent" or not isinstance(p.get("number"), int):
            continue
        key = (names[str(e["repo"]["id"])], p["number"])
        pr = p.get("pull_request") or {}
        payload_times[key]["created"] |= pr.get("created_at") is not None
        payload_times[key]["closed"] |= pr.get("closed_at") is not None
        if p.get("action") in ("opened", "reopened", "closed"):
            lifecycle[key].append((_time(e), int(e["id"]), p["action"]))
    open_now: Counter = Counter()
    for key, known in payload_times.items():
        if lifecycle[key]:
            is_open = max(lifecycle[key])[2] != "closed"
        else:
            is_open = known["created"] and not known["closed"]
        open_now[key[0]] += is_open
    return open_now


@pytest.mark.slow
def test_real_events_open_pull_requests_match_plain_python_and_the_reopened_one_is_open(real_gold):
    conn, _ = real_gold
    events = distinct_events(real_data_files())
    assert open_prs(conn) == ranked(expected_open_pull_requests(events))
    # The recordings' one reopen: Raulfin/PCaPP #1, opened 15:01:06, closed 15:02:57, reopened 15:03:18.
    lifecycle = query(
        conn,
        "SELECT p.last_action, p.reopened_count, p.is_open FROM gold.v_pull_requests AS p "
        "JOIN gold.dim_repos AS r USING (repo_id) WHERE r.repo_name = 'Raulfin/PCaPP' AND p.pr_number = 1",
    )
    assert lifecycle == [("reopened", 1, True)]
    for day in (None, date(2015, 1, 1)):
        assert open_prs(conn, to_day=day, repo="Raulfin/PCaPP") == [("Raulfin/PCaPP", 1)]


def metabase_sql(text: str, repo: str | None) -> str:
    """A native Metabase question as Metabase runs it: [[...]] kept with the variable set, else dropped."""
    if repo is None:
        return re.sub(r"\[\[.*?\]\]", "", text, flags=re.S)
    literal = "'" + repo.replace("'", "''") + "'"
    return text.replace("[[", "").replace("]]", "").replace("{{repo}}", literal)


@pytest.mark.slow
def test_repository_dashboard_shows_the_suites_figures_for_the_chosen_repository_as_the_bi_role(real_gold):
    conn, want = real_gold
    repo, stars = ranked(want["stars"])[0]
    results = {}
    with conn.cursor() as cur:
        cur.execute("SET ROLE gh_bi")
        for question in load_manifest(REPOSITORY_MANIFEST)["questions"]:
            cur.execute(metabase_sql(question["query"], repo))
            results[question["name"]] = cur.fetchall()
            cur.execute(metabase_sql(question["query"], None))  # the filter left empty: all repositories
    conn.rollback()
    assert sum(r[1] for r in results["Repository: stars per week"]) == stars
    assert sum(r[1] for r in results["Repository: commits per week"]) == want["commits"][repo]


@pytest.mark.slow
def test_replaying_and_loading_in_another_order_changes_no_figure(conn):
    files = real_data_files()
    want = expected_figures(distinct_events(files))
    for path in reversed(files):  # another order, one gold run per file
        load_files(conn, [path])
        run_etl(conn)
    before = {t: scalar(conn, f"SELECT COUNT(*) FROM {t}") for t in PAYLOAD_FACTS}
    load_files(conn, files)  # replay everything
    run_etl(conn)
    run_etl(conn)  # and a rerun with nothing new
    assert {t: scalar(conn, f"SELECT COUNT(*) FROM {t}") for t in PAYLOAD_FACTS} == before
    # The incrementally kept aggregate equals one recomputed from the facts.
    kept = query(conn, "SELECT * FROM gold.agg_repo_daily_activity ORDER BY repo_id, date_id")
    with conn.cursor() as cur:
        cur.execute("SELECT gold.rebuild_repo_daily_activity()")
    assert query(conn, "SELECT * FROM gold.agg_repo_daily_activity ORDER BY repo_id, date_id") == kept
    assert pairs(ask(conn, "stars_by_repository"), "repo_name", "stars") == ranked(want["stars"])
    commits = {r["repo_name"]: r["commits"] for r in ask(conn, "commits_by_repository")}
    assert commits == {repo: want["commits"][repo] for repo in want["pushes"]}


# --- built events: counting rules, eras, malformed payloads --------------------------------------


def pr_event(event_id, action, number=7, merged=None, repo_id=10, created_at="2024-01-15T12:00:00Z", **pr):
    pull_request = {"number": number, **pr}
    if merged is not None:
        pull_request["merged"] = merged
    return make_event(
        event_id,
        event_type="PullRequestEvent",
        repo_id=repo_id,
        created_at=created_at,
        payload={"action": action, "number": number, "pull_request": pull_request},
    )


def test_star_is_a_watch_event_started_counted_once_by_event_id(conn):
    star = make_event("1", event_type="WatchEvent", payload={"action": "started"})
    load_and_etl(conn, [star, star, make_event("2", event_type="WatchEvent", payload={})])
    load_and_etl(conn, [star])
    assert ask(conn, "stars_by_repository") == [{"repo_name": "octocat/hello", "stars": 1}]


def test_merged_counts_only_closed_with_merged_true_and_closed_counts_every_close(conn):
    load_and_etl(
        conn,
        [
            pr_event("1", "opened", number=1),
            pr_event("2", "closed", number=1, merged=True, additions=5, deletions=2),
            pr_event("3", "opened", number=2),
            pr_event("4", "closed", number=2, merged=False),
            pr_event("5", "reopened", number=2),
        ],
    )
    assert ask(conn, "pull_requests_by_repository") == [
        {"repo_name": "octocat/hello", "opened": 2, "merged": 1, "closed": 2, "partial": False}
    ]


def test_trimmed_pull_request_payload_leaves_merged_unknown_and_marks_the_figure_partial(conn):
    # The API after 2025-10-07 trims pull_request objects: no `merged`, no additions.
    load_and_etl(conn, [pr_event("1", "closed", number=3, created_at="2025-11-02T10:00:00Z")])
    assert query(conn, "SELECT is_merged, additions FROM gold.fact_pull_request_events") == [(None, None)]
    assert ask(conn, "pull_requests_by_repository")[0]["partial"] is True


def test_push_without_size_is_unknown_not_zero_commits(conn):
    modern = make_event("1", payload={"ref": "refs/heads/main", "head": "abc", "push_id": 1, "repository_id": 10})
    sized = make_event(
        "2", repo_id=11, repo_name="o/sized", payload={"ref": "refs/heads/dev", "size": 3, "distinct_size": 2}
    )
    load_and_etl(conn, [modern, sized])
    assert query(conn, "SELECT event_id, branch, push_size FROM gold.fact_pushes ORDER BY 1") == [
        ("1", "main", None),
        ("2", "dev", 3),
    ]
    rows = ask(conn, "commits_by_repository")
    assert pairs(rows, "repo_name", "commits", "partial") == [("o/sized", 3, False), ("octocat/hello", None, True)]


def test_malformed_payload_details_load_as_null_and_are_counted_in_the_health_check(conn):
    events = [
        pr_event("1", "closed", number="12", merged="yes", additions=-4),
        make_event("2", payload={"size": "3", "ref": "refs/heads/main"}),
        make_event("3", event_type="IssuesEvent", payload={"action": "opened", "issue": {"number": 1.5}}),
        make_event("4", event_type="ReleaseEvent", payload="not an object"),
        make_event("5", event_type="WatchEvent", payload={"action": "started"}),
    ]
    notices = load_and_etl(conn, events)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == 5  # every event reaches gold as today
    assert query(conn, "SELECT pr_number, is_merged, additions FROM gold.fact_pull_request_events") == [
        (None, None, None)
    ]
    assert query(conn, "SELECT push_size FROM gold.fact_pushes") == [(None,)]
    assert query(conn, "SELECT issue_number FROM gold.fact_issue_events") == [(None,)]
    malformed = dict(query(conn, "SELECT event_id, malformed_fields FROM silver.event_payloads"))
    assert malformed["1"] == ["number", "merged", "additions"]
    assert malformed["4"] == ["payload"]
    assert malformed["5"] is None
    assert scalar(conn, "SELECT malformed_payload_events FROM gold.v_payload_health") == 4
    (check,) = [c for c in run_checks(conn, load_settings({}).health_thresholds, "etl") if "malformed" in c.name]
    assert (check.value, check.status) == (4, "WARNING")
    assert any(n.startswith("payload facts:") for n in notices)


def test_release_counts_published_or_actionless_payloads(conn):
    load_and_etl(
        conn,
        [
            make_event("1", event_type="ReleaseEvent", payload={"action": "published", "release": {"tag_name": "v1"}}),
            make_event("2", event_type="ReleaseEvent", payload={"action": "created", "release": {"tag_name": "v1"}}),
            make_event("3", event_type="ReleaseEvent", payload={"release": {"tag_name": "v0", "prerelease": True}}),
        ],
    )
    assert ask(conn, "releases_by_repository") == [{"repo_name": "octocat/hello", "releases": 2}]
    # Same time: then by tag. The 'created' event is not a release.
    assert pairs(ask(conn, "release_timeline"), "release_tag", "is_prerelease") == [("v0", True), ("v1", None)]


def test_repo_filter_uses_the_current_name_and_dates_are_inclusive_utc_days(conn):
    stars = [
        make_event(
            "1",
            event_type="WatchEvent",
            repo_name="old/name",
            created_at="2024-01-01T00:00:00Z",
            payload={"action": "started"},
        ),
        make_event(
            "2",
            event_type="WatchEvent",
            repo_name="new/name",
            created_at="2024-01-08T23:59:59Z",
            payload={"action": "started"},
        ),
        make_event(
            "3",
            event_type="WatchEvent",
            repo_name="new/name",
            created_at="2024-01-09T00:00:00Z",
            payload={"action": "started"},
        ),
    ]
    load_and_etl(conn, stars)
    assert ask(conn, "stars_by_repository", repo="old/name") == []
    in_range = ask(conn, "stars_by_repository", repo="new/name", from_day=date(2024, 1, 1), to_day=date(2024, 1, 8))
    assert in_range == [{"repo_name": "new/name", "stars": 2}]
    assert ask(conn, "stars_per_week", repo="new/name") == [
        {"week_start": "2024-01-01", "stars": 1},  # 2024-01-01 and 2024-01-08 are Mondays
        {"week_start": "2024-01-08", "stars": 2},
    ]


def test_pull_request_lifecycle_gives_time_to_merge_and_open_pull_requests_at_a_date(conn):
    load_and_etl(
        conn,
        [
            pr_event("1", "opened", number=1, created_at="2024-01-01T10:00:00Z"),
            pr_event("2", "closed", number=1, merged=True, created_at="2024-01-02T12:00:00Z"),
            pr_event("3", "opened", number=2, created_at="2024-01-01T11:00:00Z"),
        ],
    )
    ttm = ask(conn, "pull_request_time_to_merge")
    assert pairs(ttm, "merged", "median_hours_to_merge") == [(1, 26)]
    assert ask(conn, "open_pull_requests", to_day=date(2024, 1, 1)) == [
        {"repo_name": "octocat/hello", "open_pull_requests": 2}
    ]
    assert ask(conn, "open_pull_requests") == [{"repo_name": "octocat/hello", "open_pull_requests": 1}]


def open_prs(conn, to_day=None, repo=None) -> list[tuple]:
    return pairs(ask(conn, "open_pull_requests", repo=repo, to_day=to_day), "repo_name", "open_pull_requests")


def test_reopened_pull_request_is_open_again_until_it_is_closed_again(conn):
    load_and_etl(
        conn,
        [
            pr_event("1", "opened", number=1, created_at="2021-01-01T10:00:00Z"),
            pr_event("2", "closed", number=1, merged=False, created_at="2021-01-02T10:00:00Z"),
            pr_event("3", "reopened", number=1, created_at="2021-01-03T10:00:00Z"),
        ],
    )
    is_open = [("octocat/hello", 1)]
    assert open_prs(conn, to_day=date(2021, 1, 1)) == is_open
    assert open_prs(conn, to_day=date(2021, 1, 2)) == []
    assert open_prs(conn, to_day=date(2021, 1, 3)) == is_open
    assert open_prs(conn, to_day=date(2021, 1, 5)) == is_open
    assert open_prs(conn) == is_open
    view = "SELECT closed_at, last_action, last_action_at, reopened_count, is_open FROM gold.v_pull_requests"
    assert query(conn, view) == [
        (datetime(2021, 1, 2, 10), "reopened", datetime(2021, 1, 3, 10), 1, True)  # closed_at: the first close
    ]

    load_and_etl(conn, [pr_event("4", "closed", number=1, merged=False, created_at="2021-01-06T10:00:00Z")])
    assert open_prs(conn, to_day=date(2021, 1, 5)) == is_open
    assert open_prs(conn, to_day=date(2021, 1, 6)) == []
    assert open_prs(conn) == []
    assert query(conn, view)[0][1:] == ("closed", datetime(2021, 1, 6, 10), 1, False)


def test_pull_request_events_in_one_second_are_ordered_by_their_numeric_event_id(conn):
    # Closed then reopened within a second: GitHub's ids say which came last ("9" before "10").
    load_and_etl(
        conn,
        [
            pr_event("8", "opened", number=1, created_at="2021-01-01T10:00:00Z"),
            pr_event("9", "closed", number=1, merged=False, created_at="2021-01-01T10:00:05Z"),
            pr_event("10", "reopened", number=1, created_at="2021-01-01T10:00:05Z"),
            pr_event("98", "opened", number=2, created_at="2021-01-01T10:00:00Z"),
            pr_event("99", "reopened", number=2, created_at="2021-01-01T10:00:05Z"),
            pr_event("100", "closed", number=2, merged=False, created_at="2021-01-01T10:00:05Z"),
        ],
    )
    assert open_prs(conn, to_day=date(2021, 1, 1)) == [("octocat/hello", 1)]
    assert open_prs(conn) == [("octocat/hello", 1)]
    states = "SELECT pr_number, last_action, is_open FROM gold.v_pull_requests ORDER BY 1"
    assert query(conn, states) == [(1, "reopened", True), (2, "closed", False)]


def test_pull_request_opened_before_the_loaded_history_is_open_by_its_payload_dates(conn):
    # No opened/reopened/closed event loaded up to the day: the payload's created_at and the first
    # close (event or payload closed_at) decide, as before reopening was read.
    def touched(event_id, number, at, created, closed=None):
        pull_request = {"number": number, "created_at": created, "closed_at": closed}
        payload = {"action": "synchronize", "number": number, "pull_request": pull_request}
        return make_event(event_id, event_type="PullRequestEvent", created_at=at, payload=payload)

    load_and_etl(
        conn,
        [
            touched("1", 1, "2021-01-05T10:00:00Z", "2020-12-20T10:00:00Z"),
            touched("2", 2, "2021-01-05T10:00:00Z", "2020-12-01T10:00:00Z", closed="2020-12-10T10:00:00Z"),
            touched("3", 3, "2021-01-02T10:00:00Z", "2020-12-20T10:00:00Z"),
            pr_event("4", "closed", number=3, merged=False, created_at="2021-01-04T10:00:00Z"),
        ],
    )
    counts = {day: open_prs(conn, to_day=day) for day in (date(2020, 12, 5), date(2021, 1, 3), date(2021, 1, 4))}
    assert counts == {
        date(2020, 12, 5): [("octocat/hello", 1)],  # #2, closed on 12-10
        date(2021, 1, 3): [("octocat/hello", 2)],  # #1 and #3 (closed the next day)
        date(2021, 1, 4): [("octocat/hello", 1)],  # #1
    }
    assert open_prs(conn) == [("octocat/hello", 1)]
    states = "SELECT pr_number, last_action, reopened_count, is_open FROM gold.v_pull_requests ORDER BY 1"
    assert query(conn, states) == [(1, None, 0, True), (2, None, 0, False), (3, "closed", 0, False)]


def test_time_to_merge_of_a_reopened_pull_request_counts_from_its_first_opening(conn):
    load_and_etl(
        conn,
        [
            pr_event("1", "opened", number=1, created_at="2021-01-01T10:00:00Z"),
            pr_event("2", "closed", number=1, merged=False, created_at="2021-01-01T12:00:00Z"),
            pr_event("3", "reopened", number=1, created_at="2021-01-02T10:00:00Z"),
            pr_event("4", "closed", number=1, merged=True, created_at="2021-01-03T10:00:00Z"),
        ],
    )
    ttm = ask(conn, "pull_request_time_to_merge")
    assert pairs(ttm, "merged", "median_hours_to_merge", "merged_without_open_time") == [(1, 48, 0)]
    assert open_prs(conn) == []


def test_backfill_migration_fills_details_of_events_loaded_before_them(conn):
    load_and_etl(conn, [make_event("1", event_type="WatchEvent", payload={"action": "started"})])
    with conn.cursor() as cur:
        cur.execute("TRUNCATE gold.fact_stars, gold.agg_repo_daily_activity; DELETE FROM silver.event_payloads;")
        cur.execute(load_sql("migrations/0011_payload_details_backfill.sql"))
        cur.execute(load_sql("migrations/0011_payload_details_backfill.sql"))  # twice: no change
    conn.commit()
    assert ask(conn, "stars_by_repository") == [{"repo_name": "octocat/hello", "stars": 1}]


def test_backfill_migration_keys_details_by_their_fact_events_row_not_by_todays_silver_reading(conn):
    # An older release sent an id it could not read to the -1 sentinel; today's silver reads it. The
    # details the migration adds must carry the fact row's keys (and its dimension members exist).
    big = 9_000_000_000_000_000_002
    load_and_etl(
        conn, [make_event("1", event_type="PushEvent", repo_id=big, payload={"size": 2, "ref": "refs/heads/x"})]
    )
    with conn.cursor() as cur:
        cur.execute("TRUNCATE gold.fact_pushes, gold.agg_repo_daily_activity; DELETE FROM silver.event_payloads;")
        cur.execute("UPDATE gold.fact_events SET repo_id = -1 WHERE event_id = '1'")  # as the older release keyed it
        cur.execute(load_sql("migrations/0011_payload_details_backfill.sql"))
    conn.commit()
    assert query(conn, "SELECT repo_id FROM gold.fact_pushes") == [(-1,)]
    assert query(conn, "SELECT repo_id, pushes, commits FROM gold.agg_repo_daily_activity") == [(-1, 1, 2)]


def test_member_events_are_facts_naming_the_collaborator_and_who_added_them(conn):
    def member(event_id, hour, payload, **fields):
        return make_event(
            event_id, event_type="MemberEvent", created_at=f"2024-01-15T{hour:02d}:00:00Z", payload=payload, **fields
        )

    load_and_etl(
        conn,
        [
            member("1", 10, {"action": "added", "member": {"login": "alice", "id": 7}}, actor_id=2, login="owner"),
            member("2", 11, {"member": "bob"}),  # the oldest legacy payloads: the login itself, no action
            member("3", 12, {"action": "edited", "member": {"login": "alice"}}),
            member("4", 13, {}, repo_id=11, repo_name="o/other"),
        ],
    )
    assert query(conn, "SELECT event_id, repo_id, action, member_login FROM gold.fact_members ORDER BY 1") == [
        ("1", 10, "added", "alice"),
        ("2", 10, None, "bob"),
        ("3", 10, "edited", "alice"),
        ("4", 11, None, None),
    ]
    assert pairs(ask(conn, "collaborators_added"), "repo_name", "member_login", "added_by", "added_at") == [
        ("o/other", None, "octocat", "2024-01-15T13:00:00"),
        ("octocat/hello", "bob", "octocat", "2024-01-15T11:00:00"),
        ("octocat/hello", "alice", "owner", "2024-01-15T10:00:00"),
    ]


def test_gollum_events_are_wiki_edit_facts_counting_their_pages(conn):
    pages = [{"page_name": "Home", "action": "edited"}, {"page_name": "Setup", "action": "created"}]
    load_and_etl(
        conn,
        [
            make_event("1", event_type="GollumEvent", payload={"pages": pages}),
            make_event("2", event_type="GollumEvent", payload={"pages": pages[:1]}),
            make_event("3", event_type="GollumEvent", repo_id=11, repo_name="o/other", payload={}),
            make_event("4", event_type="GollumEvent", repo_id=11, repo_name="o/other", payload={"pages": []}),
        ],
    )
    assert query(conn, "SELECT event_id, pages_count FROM gold.fact_wiki_edits ORDER BY 1") == [
        ("1", 2),
        ("2", 1),
        ("3", None),
        ("4", 0),
    ]
    assert ask(conn, "wiki_edits_by_repository") == [
        {"repo_name": "o/other", "wiki_edits": 2, "pages": 0, "partial": True},
        {"repo_name": "octocat/hello", "wiki_edits": 2, "pages": 3, "partial": False},
    ]


def test_gollum_pages_count_only_page_objects_and_anything_else_marks_pages_malformed(conn):
    page = {"page_name": "Home", "action": "edited"}
    load_and_etl(
        conn,
        [
            make_event("1", event_type="GollumEvent", payload={"pages": [page, "Setup", page, None]}),
            make_event("2", event_type="GollumEvent", payload={"pages": "Home"}),
            make_event("3", event_type="GollumEvent", payload={"pages": [page]}),
        ],
    )
    assert query(conn, "SELECT event_id, pages_count FROM gold.fact_wiki_edits ORDER BY 1") == [
        ("1", 2),
        ("2", None),
        ("3", 1),
    ]
    assert dict(query(conn, "SELECT event_id, malformed_fields FROM silver.event_payloads")) == {
        "1": ["pages"],
        "2": ["pages"],
        "3": None,
    }


def test_wrong_typed_counts_are_null_and_named_in_malformed_fields(conn):
    load_and_etl(
        conn,
        [
            pr_event("1", "closed", merged=True, additions=1, deletions=0, changed_files="3", commits=1.5),
            make_event(
                "2", event_type="IssuesEvent", payload={"action": "opened", "issue": {"number": 1, "comments": "2"}}
            ),
            make_event(
                "3",
                event_type="IssueCommentEvent",
                payload={"action": "created", "issue": {"number": 1, "comments": -1}},
            ),
            pr_event("4", "closed", merged=True, additions=1, deletions=0, changed_files=3, commits=2),
        ],
    )
    assert query(conn, "SELECT event_id, changed_files, commits FROM gold.fact_pull_request_events ORDER BY 1") == [
        ("1", None, None),
        ("4", 3, 2),
    ]
    assert query(conn, "SELECT comments FROM gold.fact_issue_events") == [(None,)]
    assert query(conn, "SELECT item_comments FROM gold.fact_comments") == [(None,)]
    assert dict(query(conn, "SELECT event_id, malformed_fields FROM silver.event_payloads")) == {
        "1": ["changed_files", "commits"],
        "2": ["comments"],
        "3": ["comments"],
        "4": None,
    }


def test_merged_changes_are_partial_when_changed_files_is_unknown(conn):
    load_and_etl(
        conn,
        [
            pr_event("1", "closed", number=1, merged=True, additions=5, deletions=2, changed_files=1),
            pr_event("2", "closed", number=2, merged=True, additions=3, deletions=1),
        ],
    )
    assert ask(conn, "merged_pull_request_changes") == [
        {"repo_name": "octocat/hello", "merged": 2, "additions": 8, "deletions": 3, "changed_files": 1, "partial": True}
    ]


NO_LINKS = {"html_url": None, "diff_url": None, "patch_url": None}  # the 2013 API, on a plain issue


def issue_comment(event_id: str, number: int, **issue) -> dict:
    return make_event(
        event_id,
        event_type="IssueCommentEvent",
        payload={"action": "created", "issue": {"number": number, "comments": 1, **issue}, "comment": {"id": 1}},
    )


ISSUE_COMMENTS = [
    issue_comment("1", 1, pull_request=NO_LINKS),
    issue_comment("2", 2),  # no pull_request at all: a plain issue today
    issue_comment("3", 3, pull_request={"html_url": "https://github.com/octocat/hello/pull/3", "diff_url": None}),
    issue_comment(
        "4",
        4,
        pull_request={
            "url": "https://api.github.com/repos/octocat/hello/pulls/4",
            "html_url": "https://github.com/octocat/hello/pull/4",
        },
    ),
    issue_comment("5", 5, pull_request={"url": "", "html_url": ""}),
    issue_comment("6", 6, pull_request="https://github.com/octocat/hello/pull/6"),
]


def test_issue_comment_is_on_a_pull_request_only_when_its_pull_request_links_somewhere(conn):
    load_and_etl(conn, ISSUE_COMMENTS)
    assert query(conn, "SELECT event_id, is_pull_request FROM silver.event_payloads ORDER BY 1") == [
        ("1", False),
        ("2", False),
        ("3", True),
        ("4", True),
        ("5", False),
        ("6", False),
    ]
    assert pairs(ask(conn, "comments_by_repository"), "issue_comments", "pull_request_comments") == [(4, 2)]


# main before migration 0015: IssueCommentEvent read as a pull request comment whenever its issue
# had a pull_request key.
RELEASE_BEFORE_PULL_REQUEST_ITEM_RULE = "4ada17d23e6fc388d7cb26bb5485a4b3fb8e1318"


def test_pull_request_comment_migration_repairs_issue_comments_loaded_by_the_earlier_rule(conn, second_conn):
    install_release_silver(conn, RELEASE_BEFORE_PULL_REQUEST_ITEM_RULE, 15)
    load_and_etl(conn, ISSUE_COMMENTS)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_comments WHERE comment_kind = 'pull_request'") == 5
    upgrade_equals_a_clean_load(conn, second_conn, "0015_pull_request_comment_rule.sql", ISSUE_COMMENTS)
    assert query(conn, "SELECT event_id, comment_kind FROM gold.fact_comments ORDER BY 1") == [
        ("1", "issue"),
        ("2", "issue"),
        ("3", "pull_request"),
        ("4", "pull_request"),
        ("5", "issue"),
        ("6", "issue"),
    ]


# main before legacy issue comments were read from the event's page (migration 0016).
RELEASE_BEFORE_LEGACY_COMMENT_PAGES = "249ed4272bb07dc571cb2d868dffe191461ed586"


@pytest.mark.slow
def test_legacy_comment_migration_reads_number_and_kind_from_the_page_of_comments_loaded_before(conn, second_conn):
    legacy = [json.loads(line) for line in legacy_data_file().read_text().splitlines() if line.strip()]
    install_release_silver(conn, RELEASE_BEFORE_LEGACY_COMMENT_PAGES, 16)
    load_and_etl(conn, legacy)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_comments WHERE comment_kind = 'pull_request'") == 0
    upgrade_equals_a_clean_load(conn, second_conn, "0016_legacy_issue_comment_pages.sql", legacy)
    kinds = dict(
        query(
            conn,
            "SELECT comment_kind, COUNT(*) FROM gold.fact_comments "
            "WHERE comment_kind IN ('issue', 'pull_request') GROUP BY 1",
        )
    )
    assert kinds == {"issue": 26, "pull_request": 14}
    assert (
        scalar(
            conn,
            "SELECT COUNT(*) FROM gold.fact_comments "
            "WHERE comment_kind IN ('issue', 'pull_request') AND item_number IS NULL",
        )
        == 0
    )


def test_repositories_made_public_are_public_events_read_from_fact_events(conn):
    load_and_etl(
        conn,
        [
            make_event("1", event_type="PublicEvent", actor_id=2, login="owner", created_at="2024-01-15T10:00:00Z"),
            make_event(
                "2", event_type="PublicEvent", repo_id=11, repo_name="o/other", created_at="2024-01-16T09:00:00Z"
            ),
            make_event("3", event_type="WatchEvent", payload={"action": "started"}),
        ],
    )
    assert ask(conn, "repositories_made_public") == [
        {"repo_name": "o/other", "made_public_by": "octocat", "made_public_at": "2024-01-16T09:00:00"},
        {"repo_name": "octocat/hello", "made_public_by": "owner", "made_public_at": "2024-01-15T10:00:00"},
    ]
    in_range = ask(conn, "repositories_made_public", repo="octocat/hello", from_day=date(2024, 1, 16))
    assert in_range == []


def test_member_and_wiki_migration_fills_the_facts_of_events_loaded_before_them(conn):
    load_and_etl(
        conn,
        [
            make_event("1", event_type="MemberEvent", payload={"action": "added", "member": {"login": "alice"}}),
            make_event("2", event_type="GollumEvent", payload={"pages": [{"page_name": "Home"}]}),
            make_event("3", event_type="WatchEvent", payload={"action": "started"}),
        ],
    )
    before = {t: query(conn, f"SELECT * FROM {t} ORDER BY 1") for t in PAYLOAD_FACTS}
    with conn.cursor() as cur:
        cur.execute("TRUNCATE gold.fact_members, gold.fact_wiki_edits")
        cur.execute(load_sql("migrations/0012_member_and_wiki_facts.sql"))
        cur.execute(load_sql("migrations/0012_member_and_wiki_facts.sql"))  # twice: no change
    conn.commit()
    assert {t: query(conn, f"SELECT * FROM {t} ORDER BY 1") for t in PAYLOAD_FACTS} == before
    assert query(conn, "SELECT event_id, member_login FROM gold.fact_members") == [("1", "alice")]
    assert query(conn, "SELECT event_id, pages_count FROM gold.fact_wiki_edits") == [("2", 1)]


# main before legacy payload shapes were read and fact_members / fact_wiki_edits existed.
RELEASE_BEFORE_LEGACY_PAYLOADS = "507762d57191f7908b82f45818da39e107aed140"


def release_sql(commit: str, relative: str) -> str:
    """warehouse/<relative> as that commit had it (skips when git or the commit is not here)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    shown = subprocess.run(
        ["git", "show", f"{commit}:warehouse/{relative}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    if shown.returncode != 0:
        pytest.skip(f"commit {commit[:7]} is not in this clone (shallow?)")
    return shown.stdout


def payload_snapshot(conn) -> dict:
    """silver's payload rows and every payload fact, without load times."""
    # ORDER BY 1, 2: event_id for a fact, (date_id, repo_id) for the aggregate (whose rows of one
    # day may be stored in any order).
    snapshot = {t: query(conn, f"SELECT * FROM {t} ORDER BY 1, 2") for t in PAYLOAD_FACTS}
    snapshot["silver.event_payloads"] = query(
        conn, "SELECT to_jsonb(p) - 'processed_at' FROM silver.event_payloads AS p ORDER BY event_id"
    )
    return snapshot


def install_release_silver(conn, commit: str, first_version: int) -> None:
    """An earlier release's silver batch and payload reading, with the migrations from first_version
    on forgotten, so the next setup applies them as the upgrade from that release would."""
    with conn.cursor() as cur:
        cur.execute(release_sql(commit, "silver/payloads.sql"))
        cur.execute(release_sql(commit, "silver/etl/load_silver_batch.sql"))
        cur.execute("DELETE FROM ghdw_meta.schema_migrations WHERE version >= %s", (first_version,))
    conn.commit()


def upgrade_equals_a_clean_load(conn, second_conn, migration: str, events) -> None:
    """Setup upgrades conn (then runs the migration once more: no change); a clean load of the same
    events by this release on second_conn holds the same payload rows and facts."""
    setup_db.apply_schema(conn)
    with conn.cursor() as cur:
        cur.execute(load_sql(f"migrations/{migration}"))
    conn.commit()
    load_and_etl(second_conn, events)
    assert payload_snapshot(conn) == payload_snapshot(second_conn)


@pytest.mark.slow
def test_a_warehouse_that_loaded_legacy_events_before_this_release_upgrades_to_a_clean_loads_payloads(
    conn, second_conn
):
    older = [  # 2011-2013 shapes the earlier release read as unknown
        {"type": "MemberEvent", "payload": {"member": "bob", "action": "added"}},
        {"type": "ForkEvent", "payload": {"forkee": 123456}},
        {"type": "ForkEvent", "payload": {"forkee": {"id": 7, "name": "tool", "owner": "alice"}}},
    ]
    lines = legacy_data_file().read_text().splitlines()
    template = json.loads(lines[0])
    for i, shape in enumerate(older):
        event = {**template, **shape, "created_at": f"2012-05-01T10:00:0{i}-07:00"}
        lines.append(json.dumps(event))
    events = [json.loads(line) for line in lines]

    # The earlier release: its silver batch and payload reading and gold load, no member or wiki facts.
    with conn.cursor() as cur:
        cur.execute("DROP TABLE gold.fact_members, gold.fact_wiki_edits")
        # Its gold.v_pull_requests had fewer columns (CREATE OR REPLACE VIEW can only append them).
        cur.execute("DROP VIEW gold.v_pull_requests")
        cur.execute(release_sql(RELEASE_BEFORE_LEGACY_PAYLOADS, "silver/payloads.sql"))
        cur.execute(release_sql(RELEASE_BEFORE_LEGACY_PAYLOADS, "silver/etl/load_silver_batch.sql"))
        cur.execute(release_sql(RELEASE_BEFORE_LEGACY_PAYLOADS, "gold/08_payload_facts.sql"))
        cur.execute("DELETE FROM ghdw_meta.schema_migrations WHERE version >= 12")
    conn.commit()
    load_and_etl(conn, events)
    assert scalar(conn, "SELECT COUNT(*) FROM silver.event_payloads WHERE member_login = 'bob'") == 0
    setup_db.apply_schema(conn)  # the upgrade: baseline, then migration 0012

    load_and_etl(second_conn, events)  # a clean load by this release
    assert payload_snapshot(conn) == payload_snapshot(second_conn)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_members WHERE member_login = 'bob'") == 1


def test_every_question_accepts_every_day_the_command_line_accepts(conn):
    load_and_etl(
        conn,
        [pr_event("1", "opened", number=1), make_event("2", event_type="WatchEvent", payload={"action": "started"})],
    )
    first, last = date.min, date.max  # 0001-01-01 and 9999-12-31, what date.fromisoformat reads
    for name in questions.question_names():
        assert ask(conn, name, from_day=first, to_day=date(999, 12, 31)) == [], name
        assert ask(conn, name, to_day=first) == [], name
        assert ask(conn, name, from_day=first, to_day=last) == ask(conn, name), name
    assert open_prs(conn, to_day=last) == [("octocat/hello", 1)]


@pytest.mark.slow
def test_analytics_question_reads_days_before_the_year_1000_and_the_last_day(settings, conn):
    load_and_etl(conn, [pr_event("1", "opened", number=1)])
    one_open = [{"repo_name": "octocat/hello", "open_pull_requests": 1}]
    for day, want in (("0001-01-01", []), ("0999-12-31", []), ("9999-12-31", one_open)):
        result = run_cli(
            settings, "ingestion/src/analytics.py", "--question", "open_pull_requests", "--to", day, "--json"
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == want, day


def test_actor_questions_keep_a_legacy_and_a_modern_actor_of_one_login_apart(conn):
    # README: a login in both eras is two actors (a legacy surrogate id and GitHub's id).
    legacy = [
        legacy_event(event_type="WatchEvent", login="octocat", payload={"action": "started"}),
        legacy_event(login="octocat", payload={"shas": [], "size": 2, "ref": "refs/heads/master"}),
    ]
    modern = [
        make_event("1", event_type="WatchEvent", actor_id=583231, payload={"action": "started"}),
        make_event("2", actor_id=583231, payload={"ref": "refs/heads/main", "size": 1}),
    ]
    load_and_etl(conn, legacy + modern)
    (legacy_id,) = [i for (i,) in query(conn, "SELECT actor_id FROM gold.dim_actors WHERE actor_id < -1")]
    both = [("octocat", legacy_id, "legacy_timeline"), ("octocat", 583231, "modern")]
    actor = ("actor_login", "actor_id", "actor_format")
    assert pairs(ask(conn, "top_stargazers"), *actor, "stars") == [(*a, 1) for a in both]
    assert pairs(ask(conn, "top_pushers"), *actor, "pushes", "commits") == [(*both[0], 1, 2), (*both[1], 1, 1)]
    assert pairs(ask(conn, "most_active_contributors"), *actor, "activity", "pushes") == [(*a, 1, 1) for a in both]


def test_every_question_file_has_a_header_saying_what_and_caveats():
    for name in questions.question_names():
        text = load_sql(f"{questions.QUESTIONS_DIR}/{name}.sql")
        assert text.startswith("-- ====="), name
        assert f"-- questions/{name}.sql — " in text and "caveats:" in text and "grain:" in text, name
    assert set(REQUIRED) <= set(questions.question_names())


def test_required_questions_return_their_columns(conn):
    load_events(conn, [make_event("1", event_type="WatchEvent", payload={"action": "started"})], "test")
    run_etl(conn)
    for name, columns in REQUIRED.items():
        for row in ask(conn, name):
            assert list(row)[: len(columns)] == columns, name


@pytest.mark.slow
def test_analytics_question_prints_json_rows(settings, conn):
    load_and_etl(conn, [make_event("1", event_type="ForkEvent", payload={"forkee": {"id": 5, "full_name": "a/b"}})])
    result = run_cli(
        settings,
        "ingestion/src/analytics.py",
        "--question",
        "forks_by_repository",
        "--from",
        "2024-01-15",
        "--to",
        "2024-01-15",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"repo_name": "octocat/hello", "forks": 1}]
    listed = run_cli(settings, "ingestion/src/analytics.py", "--list-questions")
    assert "stars_by_repository" in listed.stdout
