"""GH Archive's legacy Timeline format (2011-02-12 .. 2014-12-31): bronze ids, silver mapping,
gold actors, the overlap with the modern format, and the recorded real hour 2014-06-01-1."""

from __future__ import annotations

import copy
import gzip
import json
import threading
from collections import Counter
from datetime import datetime, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import legacy_data_file, make_event, query, scalar
from helpers import run_etl

from ghdw.bronze.backfill import run_backfill
from ghdw.bronze_loader import load_events
from ghdw.main import load_files
from ghdw.ops.completeness import completeness, print_report
from ghdw.sources.gharchive import LEGACY_FILE_ZONE, file_targets, hour_targets, parse_hour, utc_hours_of_file

# gold as analysts see it, without load timestamps (updated_at, gold_loaded_at, ...), which differ per run
GOLD_SNAPSHOT = {
    "facts": "SELECT event_id, date_id, actor_id, repo_id, event_type, event_time, event_hour, event_format "
    "FROM gold.fact_events ORDER BY event_id",
    "actors": "SELECT actor_id, actor_login, last_event_time FROM gold.dim_actors ORDER BY actor_id",
    "repos": "SELECT repo_id, repo_name, repo_owner, repo_project, org_login, last_event_time "
    "FROM gold.dim_repos ORDER BY repo_id",
}


def recorded_lines() -> list[str]:
    return legacy_data_file().read_text().splitlines()


def legacy_event(
    *,
    event_type="PushEvent",
    login="hawkeyechen",
    repo_id=19536976,
    repo_name="hawkeyechen.github.io",
    owner="hawkeyechen",
    created_at="2014-06-01T01:05:30-07:00",
    payload=None,
    **extra,
) -> dict:
    """An event in GH Archive's legacy Timeline shape (as in the recorded 2014 hour)."""
    event = {
        "created_at": created_at,
        "payload": payload if payload is not None else {"shas": [], "size": 0, "ref": "refs/heads/master"},
        "public": True,
        "type": event_type,
        "url": f"https://github.com/{owner}/{repo_name}",
        "actor": login,
        "actor_attributes": {"login": login, "type": "User", "gravatar_id": "0" * 32},
        "repository": {"id": repo_id, "name": repo_name, "owner": owner, "watchers": 3, "forks": 1},
    }
    event.update(extra)
    return event


def write_lines(path: Path, events: list, compress: bool = False) -> Path:
    text = "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def snapshot(conn) -> dict:
    return {name: query(conn, sql) for name, sql in GOLD_SNAPSHOT.items()}


# --- the recorded real hour ----------------------------------------------------------------------


def test_every_recorded_legacy_event_lands_in_gold_as_the_raw_file_says(conn, tmp_path):
    lines = recorded_lines()
    # Expected figures, from the raw file in plain Python (not the warehouse's SQL).
    events = [json.loads(line) for line in lines]
    utc = [datetime.fromisoformat(e["created_at"]).astimezone(timezone.utc).replace(tzinfo=None) for e in events]
    expected_by_type_day_hour = Counter(
        (e["type"], int(t.strftime("%Y%m%d")), t.hour) for e, t in zip(events, utc, strict=True)
    )
    expected_by_repo = Counter(
        (e["repository"]["id"], f"{e['repository']['owner']}/{e['repository']['name']}") for e in events
    )
    expected_orgs = {e["repository"]["id"]: e["repository"].get("organization") for e in events}
    expected_logins = {e["actor"].lower() for e in events}
    expected_times = sorted((e["actor"], e["type"], t) for e, t in zip(events, utc, strict=True))

    report, damaged = load_files(conn, [write_lines(tmp_path / "2014-06-01-1.json", lines)])
    run_etl(conn)

    assert (report.inserted, report.errors, damaged) == (500, 0, [])
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.dead_letter_queue") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM silver.events WHERE reject_reason IS NOT NULL") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events WHERE event_format = 'legacy_timeline'") == 500
    rows = query(conn, "SELECT event_type, date_id, event_hour, COUNT(*) FROM gold.fact_events GROUP BY 1, 2, 3")
    assert Counter({(t, d, h): n for t, d, h, n in rows}) == expected_by_type_day_hour
    rows = query(
        conn,
        "SELECT f.repo_id, r.repo_name, COUNT(*) FROM gold.fact_events AS f "
        "JOIN gold.dim_repos AS r USING (repo_id) GROUP BY 1, 2",
    )
    assert Counter({(i, name): n for i, name, n in rows}) == expected_by_repo
    assert dict(query(conn, "SELECT repo_id, org_login FROM gold.dim_repos WHERE repo_id <> -1")) == expected_orgs
    # Q1's actors: each login once, every one a surrogate below the sentinel.
    assert {r[0].lower() for r in query(conn, "SELECT actor_login FROM gold.dim_actors WHERE actor_id < -1")} == (
        expected_logins
    )
    assert scalar(conn, "SELECT COUNT(DISTINCT actor_id) FROM gold.fact_events") == len(expected_logins)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events WHERE actor_id >= -1 OR repo_id = -1") == 0
    rows = query(
        conn,
        "SELECT a.actor_login, f.event_type, f.event_time FROM gold.fact_events AS f "
        "JOIN gold.dim_actors AS a USING (actor_id)",
    )
    assert sorted(rows) == expected_times


def test_loading_the_legacy_file_twice_or_a_file_sharing_its_events_adds_nothing(conn, tmp_path):
    lines = recorded_lines()
    load_files(conn, [write_lines(tmp_path / "a.json", lines)])
    run_etl(conn)
    before = snapshot(conn)

    again, _ = load_files(conn, [write_lines(tmp_path / "a.json", lines)])
    # The same events captured again: repository counters and actor attributes moved on.
    recaptured = []
    for line in lines[100:300]:
        event = json.loads(line)
        event["repository"]["watchers"] = event["repository"].get("watchers", 0) + 7
        event["repository"]["forks"] = event["repository"].get("forks", 0) + 1
        event["actor_attributes"]["location"] = "elsewhere"
        recaptured.append(event)
    shared, _ = load_files(conn, [write_lines(tmp_path / "b.json.gz", recaptured, compress=True)])
    run_etl(conn)

    assert (again.inserted, again.duplicates) == (0, 500)
    assert (shared.inserted, shared.duplicates) == (0, 200)
    assert scalar(conn, "SELECT COUNT(*) FROM bronze.raw_events") == 500
    assert snapshot(conn) == before


def test_legacy_events_in_another_order_give_the_same_gold_row_for_row(conn, tmp_path, second_conn):
    lines = recorded_lines()
    for start in range(0, len(lines), 50):
        load_files(conn, [write_lines(tmp_path / f"fwd{start}.json", lines[start : start + 50])])
        run_etl(conn)
    backwards = lines[::-1]
    for start in range(0, len(backwards), 70):
        load_files(second_conn, [write_lines(tmp_path / f"bwd{start}.json", backwards[start : start + 70])])
        run_etl(second_conn)

    assert snapshot(conn) == snapshot(second_conn)
    assert len(snapshot(conn)["facts"]) == 500


# --- the id rule -----------------------------------------------------------------------------------


def test_synthetic_id_ignores_counters_and_attributes_but_not_identity(conn):
    base = legacy_event()
    moved = copy.deepcopy(base)
    moved["repository"]["watchers"] = 99
    moved["repository"]["name"] = "renamed"  # the repository id is what identifies it
    moved["actor_attributes"]["name"] = "New Name"
    moved["url"] = "https://github.com/hawkeyechen/renamed"
    other_second = legacy_event(created_at="2014-06-01T01:05:31-07:00")
    other_payload = legacy_event(payload={"shas": [], "size": 1, "ref": "refs/heads/dev"})

    report = load_events(conn, [base, moved, other_second, other_payload], "test")

    assert (report.inserted, report.duplicates) == (3, 1)
    ids = [r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events")]
    assert sorted(i[: len("legacy-20140601080530-")] for i in ids) == [  # UTC
        "legacy-20140601080530-",
        "legacy-20140601080530-",
        "legacy-20140601080531-",
    ]
    assert all(len(i) == len("legacy-20140601080530-") + 32 for i in ids)
    # kept as received
    assert query(conn, "SELECT raw_data FROM bronze.raw_events ORDER BY raw_event_id LIMIT 1")[0][0] == base


def test_synthetic_id_tells_actors_apart_whichever_field_holds_the_login(conn):
    # actor null or missing: the login is only in actor_attributes (silver's rule)
    events = [legacy_event(login=login, actor=None) for login in ("alice", "bob")]
    events.append(legacy_event(login=None, actor=None, actor_attributes={"type": "User"}))
    events.append(legacy_event(login="carol"))
    del events[3]["actor"]
    events[3]["actor_attributes"]["login"] = "carol"
    same_as_alice = legacy_event(login=" Alice ")  # silver's identity: trimmed, lower-cased

    report = load_events(conn, [*events, same_as_alice], "test")

    assert (report.inserted, report.duplicates, report.errors) == (4, 1, 0)


def test_synthetic_id_of_other_actors_gives_gold_independent_of_load_order(conn, second_conn):
    events = [legacy_event(login=login, actor=None) for login in ("alice", "bob")]
    events.append(legacy_event(login=None, actor=None, actor_attributes={"type": "User"}))
    load_events(conn, events, "test")
    run_etl(conn)
    load_events(second_conn, events[::-1], "test")
    run_etl(second_conn)

    assert snapshot(conn) == snapshot(second_conn)
    assert len(snapshot(conn)["facts"]) == 3


def test_synthetic_id_is_the_utc_time_and_the_same_moment_in_any_offset_is_one_event(conn):
    utc = legacy_event(created_at="2014-06-01T08:05:30Z")
    pacific = legacy_event(created_at="2014-06-01T01:05:30-07:00")
    other_zone = legacy_event(created_at="2014-06-01 10:05:30+0200")

    report = load_events(conn, [utc, pacific, other_zone], "test")

    assert (report.inserted, report.duplicates) == (1, 2)
    assert scalar(conn, "SELECT event_id FROM bronze.raw_events").startswith("legacy-20140601080530-")


def test_a_legacy_event_without_a_timestamp_is_stored_and_rejected_in_silver(conn):
    missing = legacy_event(login="missing")
    del missing["created_at"]
    events = [missing, legacy_event(login="null", created_at=None), legacy_event(login="words", created_at="yesterday")]

    report = load_events(conn, events, "test")
    run_etl(conn)

    assert (report.inserted, report.errors) == (3, 0)
    ids = [r[0] for r in query(conn, "SELECT event_id FROM bronze.raw_events")]
    assert all(i.startswith("legacy-notime-") for i in ids)
    reasons = dict(query(conn, "SELECT actor_login, reject_reason FROM silver.events"))
    assert reasons == {
        "missing": "created_at missing",
        "null": "created_at missing",
        "words": "created_at is not an ISO 8601 date and time",
    }


def test_a_legacy_event_before_gh_archive_starts_is_kept_and_a_renamed_capture_keeps_the_first_name(conn):
    early = legacy_event(login="early", repo_id=7, repo_name="older", created_at="2010-06-01T10:00:00-07:00")
    first = legacy_event(login="renamer", repo_name="old-name")
    renamed = copy.deepcopy(first)
    renamed["repository"]["name"] = "new-name"
    load_events(conn, [early, first, renamed], "test")
    run_etl(conn)

    rows = query(
        conn,
        "SELECT a.actor_login, f.date_id, r.repo_name FROM gold.fact_events AS f "
        "JOIN gold.dim_actors AS a USING (actor_id) JOIN gold.dim_repos AS r USING (repo_id) ORDER BY 2",
    )
    assert rows == [("early", 20100601, "hawkeyechen/older"), ("renamer", 20140601, "hawkeyechen/old-name")]


def test_an_event_claiming_a_synthetic_id_is_dead_lettered(conn):
    report = load_events(conn, [make_event("legacy-" + "0" * 64), make_event("1")], "test")

    assert (report.inserted, report.errors) == (1, 1)
    assert "reserved" in scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue")


def test_an_object_neither_modern_nor_legacy_is_dead_lettered_with_its_reason(conn):
    report = load_events(conn, [{"type": "PushEvent", "created_at": "2014-01-01T00:00:00Z"}], "test")

    assert report.errors == 1
    reason = scalar(conn, "SELECT error_message FROM bronze.dead_letter_queue")
    assert 'no "id"' in reason and "not a legacy Timeline event" in reason


# --- silver and gold mapping, and the variants of 2011-2013 ------------------------------------------


def test_legacy_variants_map_into_the_same_columns(conn):
    events = [
        # organisation repository, winter offset
        legacy_event(
            login="Alice",
            created_at="2012-02-01T23:30:00-08:00",
            repository={"id": 5, "name": "tool", "owner": "acme", "organization": "acme", "watchers": 1},
        ),
        # the actor only in actor_attributes (actor null), repository without organisation
        legacy_event(login="bob", created_at="2011-03-01T10:00:00-08:00", actor=None),
        # no repository at all (e.g. a FollowEvent, a GistEvent)
        legacy_event(
            event_type="FollowEvent",
            login="carol",
            created_at="2011-05-01T10:00:00-07:00",
            payload={"target": {"login": "alice"}},
        ),
        # fields absent or null, and an unknown payload shape: data, not errors
        legacy_event(event_type="GistEvent", login="dave", payload={"anything": [1, {"x": None}]}, public=None),
    ]
    del events[2]["repository"]
    events[3]["repository"] = None
    load_events(conn, events, "test")
    run_etl(conn)

    rows = query(
        conn,
        "SELECT a.actor_login, f.event_type, f.event_time, f.date_id, r.repo_name, r.org_login, f.event_format "
        "FROM gold.fact_events AS f JOIN gold.dim_actors AS a USING (actor_id) "
        "JOIN gold.dim_repos AS r USING (repo_id) ORDER BY f.event_time",
    )
    assert rows == [
        (
            "bob",
            "PushEvent",
            datetime(2011, 3, 1, 18, 0),
            20110301,
            "hawkeyechen/hawkeyechen.github.io",
            None,
            "legacy_timeline",
        ),
        ("carol", "FollowEvent", datetime(2011, 5, 1, 17, 0), 20110501, "unknownrepo", None, "legacy_timeline"),
        ("Alice", "PushEvent", datetime(2012, 2, 2, 7, 30), 20120202, "acme/tool", "acme", "legacy_timeline"),
        ("dave", "GistEvent", datetime(2014, 6, 1, 8, 5, 30), 20140601, "unknownrepo", None, "legacy_timeline"),
    ]
    reasons = dict(query(conn, "SELECT actor_login, sentinel_reason FROM silver.events"))
    assert reasons == {"Alice": None, "bob": None, "carol": "repository missing: -1", "dave": "repository missing: -1"}


def test_malformed_legacy_events_get_sentinels_or_reject_reasons_like_modern_ones(conn):
    events = [
        legacy_event(login="notype", type=None),
        legacy_event(login="badrepo", repository="hawkeyechen/hawkeyechen.github.io"),
        legacy_event(login="badtime", created_at="last tuesday"),
        legacy_event(login=None, actor=None, actor_attributes={"type": "User"}),
    ]
    del events[0]["type"]
    report = load_events(conn, events, "test")
    run_etl(conn)

    assert report.inserted == 4
    silver = {r[0]: r[1:] for r in query(conn, "SELECT actor_login, reject_reason, sentinel_reason FROM silver.events")}
    assert silver["notype"] == (None, "type missing: Unknown")
    assert silver["badrepo"] == (None, "repository not an object: -1")
    assert silver["badtime"] == ("created_at is not an ISO 8601 date and time", None)
    assert silver[None] == (None, "actor login missing: -1")
    gold = query(
        conn,
        "SELECT a.actor_login, f.event_type, f.actor_id < -1, f.repo_id FROM gold.fact_events AS f "
        "JOIN gold.dim_actors AS a USING (actor_id) ORDER BY 1",
    )
    assert gold == [
        ("badrepo", "PushEvent", True, -1),
        ("notype", "Unknown", True, 19536976),
        ("unknownuser", "PushEvent", False, 19536976),
    ]


def test_a_login_is_one_actor_whatever_its_case_and_stays_apart_from_modern_ids(conn):
    events = [
        legacy_event(login="OctoCat", created_at="2013-01-01T00:00:00-08:00"),
        legacy_event(login="octocat", created_at="2013-01-02T00:00:00-08:00"),
        make_event("42", actor_id=583231, login="octocat", created_at="2016-01-01T00:00:00Z"),
    ]
    load_events(conn, events, "test")
    run_etl(conn)

    actors = query(conn, "SELECT actor_id, actor_login FROM gold.dim_actors WHERE actor_id <> -1 ORDER BY 1")
    assert len(actors) == 2
    (legacy_id, legacy_login), modern = actors
    assert legacy_id < -1 and legacy_login == "octocat"  # the newest spelling
    assert modern == (583231, "octocat")
    formats = query(conn, "SELECT event_format, COUNT(*) FROM gold.fact_events GROUP BY 1 ORDER BY 1")
    assert formats == [("legacy_timeline", 2), ("modern", 1)]


def test_legacy_and_modern_events_in_one_file_load_in_one_run(conn, tmp_path):
    events = [
        legacy_event(login="old", created_at="2014-06-01T01:05:30-07:00"),
        make_event("2489651045", login="new", created_at="2015-01-01T15:00:00Z"),
        legacy_event(login="older", created_at="2012-06-01T01:05:30-07:00"),
    ]
    report, damaged = load_files(conn, [write_lines(tmp_path / "mixed.json", events)])
    run_etl(conn)

    assert (report.inserted, report.errors, damaged) == (3, 0, [])
    rows = query(
        conn,
        "SELECT a.actor_login, f.event_format FROM gold.fact_events AS f JOIN gold.dim_actors AS a USING (actor_id) "
        "ORDER BY f.event_time",
    )
    assert rows == [("older", "legacy_timeline"), ("old", "legacy_timeline"), ("new", "modern")]


# --- payload details of the legacy shapes (silver.event_payloads) -----------------------------------

ABSENT = object()  # a payload without the key at all
SHAS_20 = [[f"{i:040x}", "a@example.com", "m", "A", True] for i in range(20)]
# (event type, payload, the silver columns it must give, malformed_fields). Shapes of 2011-2014:
# fields absent, null or of another type; what the payload does not say is NULL, nothing fails.
LEGACY_PAYLOAD_SHAPES = [
    ("IssuesEvent", {"action": "opened", "issue": 34720382, "number": 5}, {"item_number": 5}, None),
    ("IssuesEvent", {"action": "opened", "issue": 34720382}, {"item_number": None}, None),
    ("IssuesEvent", {"action": "closed", "number": None}, {"item_number": None}, None),
    ("IssuesEvent", {"action": "opened", "issue": None, "number": 6}, {"item_number": 6}, None),
    ("IssuesEvent", {"action": "opened", "issue": {"number": 8, "title": "t"}, "number": 99}, {"item_number": 8}, None),
    ("IssuesEvent", {"action": "opened", "issue": 1, "number": "7"}, {"item_number": None}, ["number"]),
    ("IssuesEvent", ABSENT, {"item_number": None, "action": None}, None),
    (
        "PullRequestReviewCommentEvent",
        {"comment": {"pull_request_url": "https://api.github.com/repos/o/r/pulls/12", "commit_id": "c1"}},
        {"item_number": 12},
        None,
    ),
    (
        "PullRequestReviewCommentEvent",
        {"comment": {"pull_request_url": "https://api.github.com/repos/o/r/pulls/12"}, "pull_request": {"number": 13}},
        {"item_number": 13},
        None,
    ),
    (
        "PullRequestReviewCommentEvent",
        {"comment": {"html_url": "https://github.com/o/r/pull/12#discussion_r1"}},
        {"item_number": None},
        None,
    ),
    ("PullRequestReviewCommentEvent", {"comment": {"pull_request_url": 12}}, {"item_number": None}, None),
    (
        "PullRequestReviewCommentEvent",
        {"comment": {"pull_request_url": "https://api.github.com/repos/o/r/pulls/99999999999"}},
        {"item_number": None},
        None,
    ),
    ("PullRequestReviewCommentEvent", {"comment": None}, {"item_number": None}, None),
    ("PullRequestReviewCommentEvent", {"comment": "text"}, {"item_number": None}, None),
    ("CommitCommentEvent", {"commit": "f62869aa", "comment_id": 6515077}, {"commit_sha": "f62869aa"}, None),
    ("CommitCommentEvent", {"comment": {"commit_id": "def0"}, "commit": "f62869aa"}, {"commit_sha": "def0"}, None),
    ("CommitCommentEvent", {"commit": None}, {"commit_sha": None}, None),
    ("CommitCommentEvent", {"commit": 123}, {"commit_sha": None}, None),
    ("CommitCommentEvent", {}, {"commit_sha": None}, None),
    (
        "PushEvent",
        {"shas": [["a" * 40, "e", "m", "n", True], ["b" * 40, "e", "m", "n", False]], "size": 2, "ref": "refs/heads/x"},
        {"push_size": 2, "push_distinct_size": 1},
        None,
    ),
    # GH Archive kept at most 20 shas: with 25 commits the distinct count is unknown.
    ("PushEvent", {"shas": SHAS_20, "size": 25}, {"push_size": 25, "push_distinct_size": None}, None),
    ("PushEvent", {"shas": SHAS_20, "size": 20}, {"push_size": 20, "push_distinct_size": 20}, None),
    # shas without the distinct flag (4 elements), or a flag that is not a boolean: unknown.
    ("PushEvent", {"shas": [["c" * 40, "e", "m", "n"]], "size": 1}, {"push_size": 1, "push_distinct_size": None}, None),
    ("PushEvent", {"shas": [["c" * 40, "e", "m", "n", "yes"]], "size": 1}, {"push_distinct_size": None}, None),
    ("PushEvent", {"shas": ["c" * 40], "size": 1}, {"push_distinct_size": None}, None),
    ("PushEvent", {"shas": [], "size": 0}, {"push_size": 0, "push_distinct_size": 0}, None),
    ("PushEvent", {"shas": None, "size": 3}, {"push_size": 3, "push_distinct_size": None}, None),
    ("PushEvent", {"shas": "d" * 40, "size": 1}, {"push_distinct_size": None}, None),
    ("PushEvent", {"ref": "refs/heads/x"}, {"push_size": None, "push_distinct_size": None}, None),
    ("PushEvent", {"shas": [["e" * 40, "e", "m", "n", True]]}, {"push_size": None, "push_distinct_size": None}, None),
    # distinct_size, where a payload has it, is what counts (and is judged malformed as before).
    ("PushEvent", {"shas": SHAS_20[:2], "size": 2, "distinct_size": 1}, {"push_distinct_size": 1}, None),
    (
        "PushEvent",
        {"shas": SHAS_20[:2], "size": 2, "distinct_size": "2"},
        {"push_distinct_size": None},
        ["distinct_size"],
    ),
    ("PushEvent", {"shas": SHAS_20[:1], "size": "1"}, {"push_size": None, "push_distinct_size": None}, ["size"]),
    ("MemberEvent", {"member": {"login": "alice", "id": 5}, "action": "added"}, {"member_login": "alice"}, None),
    ("MemberEvent", {"member": "bob", "action": "added"}, {"member_login": "bob", "action": "added"}, None),
    ("MemberEvent", {"member": "carol"}, {"member_login": "carol", "action": None}, None),
    ("MemberEvent", {"member": None}, {"member_login": None}, None),
    ("MemberEvent", {"member": 42}, {"member_login": None}, None),
    ("MemberEvent", {"member": {"id": 5}}, {"member_login": None}, None),
    ("MemberEvent", None, {"member_login": None}, None),
    ("ForkEvent", {}, {"fork_repo_id": None, "fork_repo_name": None}, None),
    ("ForkEvent", {"forkee": 123456}, {"fork_repo_id": 123456, "fork_repo_name": None}, None),
    (
        "ForkEvent",
        {"forkee": {"id": 7, "name": "tool", "owner": "alice"}},
        {"fork_repo_id": 7, "fork_repo_name": "alice/tool"},
        None,
    ),
    (
        "ForkEvent",
        {"forkee": {"name": "tool", "owner": {"login": "bob"}}},
        {"fork_repo_id": None, "fork_repo_name": "bob/tool"},
        None,
    ),
    (
        "ForkEvent",
        {"forkee": {"id": 8, "full_name": "carol/tool", "name": "x", "owner": "y"}},
        {"fork_repo_id": 8, "fork_repo_name": "carol/tool"},
        None,
    ),
    ("ForkEvent", {"forkee": {"name": "tool"}}, {"fork_repo_id": None, "fork_repo_name": None}, None),
    ("ForkEvent", {"forkee": {"owner": {"login": "dave"}}}, {"fork_repo_name": None}, None),
    ("ForkEvent", {"forkee": {"name": "tool", "owner": {"id": 3}}}, {"fork_repo_name": None}, None),
    ("ForkEvent", {"forkee": None}, {"fork_repo_id": None, "fork_repo_name": None}, None),
    ("ForkEvent", {"forkee": "alice/tool"}, {"fork_repo_id": None, "fork_repo_name": None}, None),
    ("ForkEvent", {"forkee": -3}, {"fork_repo_id": None}, None),
    ("ForkEvent", ABSENT, {"fork_repo_id": None, "fork_repo_name": None}, None),
]


def _utc(event) -> datetime:
    return datetime.fromisoformat(event["created_at"]).astimezone(timezone.utc).replace(tzinfo=None)


def test_recorded_legacy_payloads_give_numbers_commits_members_and_distinct_counts(conn, tmp_path):
    lines = recorded_lines()
    # Expected, from the raw file in plain Python: (type, repository id, UTC time, the detail).
    expected = Counter()
    for event in map(json.loads, lines):
        p = event["payload"]
        key = (event["type"], event["repository"]["id"], _utc(event))
        if event["type"] == "IssuesEvent":
            expected[(*key, p["number"])] += 1
        elif event["type"] == "PullRequestReviewCommentEvent":
            expected[(*key, int(p["comment"]["pull_request_url"].rpartition("/pulls/")[2]))] += 1
        elif event["type"] == "CommitCommentEvent":
            expected[(*key, p["commit"])] += 1
        elif event["type"] == "PushEvent":
            whole = len(p["shas"]) == p["size"]  # GH Archive kept at most 20 shas
            expected[(*key, sum(sha[4] is True for sha in p["shas"]) if whole else None)] += 1
        elif event["type"] == "MemberEvent":
            expected[(*key, p["member"]["login"])] += 1

    load_files(conn, [write_lines(tmp_path / "2014-06-01-1.json", lines)])
    run_etl(conn)

    rows = query(
        conn,
        "SELECT p.event_type, e.repo_id::BIGINT, e.event_time, CASE p.event_type "
        "  WHEN 'CommitCommentEvent' THEN to_jsonb(p.commit_sha) WHEN 'PushEvent' THEN to_jsonb(p.push_distinct_size) "
        "  WHEN 'MemberEvent' THEN to_jsonb(p.member_login) ELSE to_jsonb(p.item_number) END "
        "FROM silver.event_payloads AS p JOIN silver.events AS e USING (event_id) "
        "WHERE p.event_type IN ('IssuesEvent', 'PullRequestReviewCommentEvent', 'CommitCommentEvent', "
        "'PushEvent', 'MemberEvent')",
    )
    assert Counter(tuple(r) for r in rows) == expected
    assert None in {key[3] for key in expected if key[0] == "PushEvent"}  # the file has capped pushes
    assert scalar(conn, "SELECT COUNT(*) FROM silver.event_payloads WHERE malformed_fields IS NOT NULL") == 0
    # Legacy 2014 forks say nothing of the fork ({}): each is still a fork, its details unknown.
    forks = sum(json.loads(line)["type"] == "ForkEvent" for line in lines)
    assert query(conn, "SELECT COUNT(*), COUNT(fork_repo_id), COUNT(fork_repo_name) FROM gold.fact_forks") == [
        (forks, 0, 0)
    ]


def test_older_legacy_payload_shapes_load_and_what_they_do_not_say_is_null(conn):
    events = []
    for i, (event_type, payload, _, _) in enumerate(LEGACY_PAYLOAD_SHAPES):
        # One repository per shape, to find its row; 2011-2013 times.
        event = legacy_event(
            event_type=event_type,
            repo_id=1000 + i,
            repo_name=f"shape{i}",
            created_at=f"201{1 + i % 3}-05-01T10:{i // 60:02d}:{i % 60:02d}-07:00",
        )
        if payload is ABSENT:
            del event["payload"]
        else:
            event["payload"] = payload
        events.append(event)
    report = load_events(conn, events, "test")
    run_etl(conn)

    assert report.inserted == len(events)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_events") == len(events)  # nothing failed or was kept out
    details = {
        repo_id - 1000: row
        for repo_id, row in query(
            conn,
            "SELECT e.repo_id::BIGINT, to_jsonb(p) "
            "FROM silver.event_payloads AS p JOIN silver.events AS e USING (event_id)",
        )
    }
    for i, (event_type, payload, columns, malformed) in enumerate(LEGACY_PAYLOAD_SHAPES):
        got = details[i]
        shape = f"{event_type} {'absent' if payload is ABSENT else json.dumps(payload)[:80]}"
        assert {c: got[c] for c in columns} == columns, shape
        assert got["malformed_fields"] == malformed, shape
    # Every fork is a fork, whatever its payload said of the new repository.
    forks = sum(t == "ForkEvent" for t, *_ in LEGACY_PAYLOAD_SHAPES)
    assert scalar(conn, "SELECT COUNT(*) FROM gold.fact_forks") == forks


# --- backfill across the change of format -----------------------------------------------------------


@pytest.fixture
def archive(tmp_path):
    """A local GH Archive: a static HTTP server on loopback over a directory of hourly gzip files."""
    directory = tmp_path / "archive"
    directory.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield directory, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def activity(utc_hour: datetime, n: int) -> list[tuple[str, int, datetime]]:
    """n things that happened in one UTC hour: (login, repository id, UTC time)."""
    return [(f"user{i}", 1000 + i, utc_hour.replace(minute=i, second=7)) for i in range(n)]


def as_legacy(login: str, repo_id: int, utc: datetime) -> dict:
    pacific = utc.replace(tzinfo=timezone.utc).astimezone(LEGACY_FILE_ZONE)
    return legacy_event(
        login=login, repo_id=repo_id, repo_name=f"r{repo_id}", owner=login, created_at=pacific.isoformat()
    )


def as_modern(login: str, repo_id: int, utc: datetime) -> dict:
    return make_event(
        f"{int(utc.timestamp())}{repo_id}",
        actor_id=repo_id * 7,
        login=login,
        repo_id=repo_id,
        repo_name=f"{login}/r{repo_id}",
        created_at=utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


@pytest.mark.slow  # a loopback HTTP server and a backfill over 17 hours
def test_backfill_across_the_change_of_format_keeps_modern_events_for_the_shared_hours(settings, conn, archive):
    directory, url = archive
    per_hour = 4
    legacy_names = [f"2014-12-31-{h}" for h in range(15, 24)]  # Pacific: UTC 2014-12-31 23:00 .. 2015-01-01 07:00
    modern_names = [f"2015-01-01-{h}" for h in range(8)]  # UTC 2015-01-01 00:00 .. 07:00
    for name in legacy_names:
        utc = utc_hours_of_file(parse_hour(name))[0]
        write_lines(directory / f"{name}.json.gz", [as_legacy(*a) for a in activity(utc, per_hour)], compress=True)
    for name in modern_names:
        utc = parse_hour(name)
        write_lines(directory / f"{name}.json.gz", [as_modern(*a) for a in activity(utc, per_hour)], compress=True)

    outcomes, total = run_backfill(settings, hour_targets(parse_hour("2014-12-31-15"), parse_hour("2015-01-01-7"), url))
    run_etl(conn)

    assert set(outcomes.values()) == {"completed"} and len(outcomes) == 17
    assert (total.inserted, total.errors) == (17 * per_hour, 0)
    gold = query(
        conn,
        "SELECT date_id, event_hour, event_format, COUNT(*) FROM gold.fact_events GROUP BY 1, 2, 3 ORDER BY 1, 2",
    )
    assert gold == [(20141231, 23, "legacy_timeline", per_hour)] + [(20150101, h, "modern", per_hour) for h in range(8)]
    rejected = query(
        conn, "SELECT reject_reason, COUNT(*) FROM silver.events WHERE reject_reason IS NOT NULL GROUP BY 1"
    )
    assert rejected == [
        ("legacy timeline event at or after 2015-01-01 00:00 UTC (modern format holds that time)", 8 * per_hour)
    ]
    # Each login is two actors (one per format), counted in gold once per format that holds it.
    assert scalar(conn, "SELECT COUNT(*) FROM gold.dim_actors WHERE actor_id < -1") == per_hour

    report = completeness(
        conn, *(utc_hours_of_file(parse_hour(n))[i] for n, i in (("2014-12-31-15", 0), ("2015-01-01-7", 1)))
    )
    assert [(r[0], r[1], r[2], r[5], r[6], r[7]) for r in report] == [
        ("2014-12-31-23", per_hour, per_hour, "archive", "2014-12-31-15", "legacy_timeline")
    ] + [(f"2015-01-01-{h}", 2 * per_hour, per_hour, "archive", f"2015-01-01-{h}", "modern") for h in range(8)]


def test_completeness_counts_an_overlap_hour_with_legacy_events_only_as_missing(settings, conn, archive, capsys):
    directory, url = archive
    for name in ("2014-12-31-16", "2014-12-31-17"):  # UTC 2015-01-01 00:00 and 01:00
        utc = utc_hours_of_file(parse_hour(name))[0]
        write_lines(directory / f"{name}.json.gz", [as_legacy(*a) for a in activity(utc, 3)], compress=True)
    write_lines(
        directory / "2015-01-01-1.json.gz", [as_modern(*a) for a in activity(datetime(2015, 1, 1, 1), 3)], compress=True
    )
    run_backfill(settings, hour_targets(parse_hour("2014-12-31-16"), parse_hour("2014-12-31-17"), url))
    run_backfill(settings, hour_targets(parse_hour("2015-01-01-1"), parse_hour("2015-01-01-1"), url))
    run_etl(conn)

    report = completeness(conn, datetime(2015, 1, 1, 0), datetime(2015, 1, 1, 1))
    assert [(r[0], r[1], r[2], r[5]) for r in report] == [
        ("2015-01-01-0", 3, 0, "legacy only: needs modern file 2015-01-01-0"),
        ("2015-01-01-1", 6, 3, "archive"),
    ]
    print_report(report)
    assert "2 hours: 1 missing" in capsys.readouterr().out


def test_legacy_file_names_are_pacific_time_across_daylight_saving():
    assert utc_hours_of_file(parse_hour("2014-06-01-1")) == (datetime(2014, 6, 1, 8), datetime(2014, 6, 1, 8))
    assert utc_hours_of_file(parse_hour("2012-01-15-0")) == (datetime(2012, 1, 15, 8), datetime(2012, 1, 15, 8))
    # autumn: 01:00 happens twice, the file covers two UTC hours
    assert utc_hours_of_file(parse_hour("2013-11-03-1")) == (datetime(2013, 11, 3, 8), datetime(2013, 11, 3, 9))
    assert utc_hours_of_file(parse_hour("2014-12-31-16")) == (datetime(2015, 1, 1, 0), datetime(2015, 1, 1, 0))
    # modern files are named in UTC
    assert utc_hours_of_file(parse_hour("2015-01-01-0")) == (datetime(2015, 1, 1, 0), datetime(2015, 1, 1, 0))


def test_backfill_skips_the_pacific_hour_the_spring_change_skips_and_agrees_with_the_report(settings, conn, archive):
    directory, url = archive
    names = ["2012-03-11-0", "2012-03-11-1", "2012-03-11-3", "2012-03-11-4"]  # 02:00 PST never happened
    for name in names:
        utc = utc_hours_of_file(parse_hour(name))[0]
        write_lines(directory / f"{name}.json.gz", [as_legacy(*a) for a in activity(utc, 2)], compress=True)

    targets = hour_targets(parse_hour("2012-03-11-0"), parse_hour("2012-03-11-4"), url)
    outcomes, total = run_backfill(settings, targets)
    run_etl(conn)

    assert [t.name for t in targets] == [f"{n}.json.gz" for n in names]
    assert set(outcomes.values()) == {"completed"} and total.errors == 0
    report = completeness(conn, utc_hours_of_file(parse_hour(names[0]))[0], utc_hours_of_file(parse_hour(names[-1]))[1])
    assert [(r[0], r[5], r[6]) for r in report] == [
        (f"2012-03-11-{utc}", "archive", name) for utc, name in zip(range(8, 12), names)
    ]
    # the autumn change's repeated hour is one file, still fetched
    autumn = hour_targets(parse_hour("2013-11-03-0"), parse_hour("2013-11-03-2"), url)
    assert [t.name for t in autumn] == [f"2013-11-03-{h}.json.gz" for h in range(3)]


def test_completeness_report_maps_a_legacy_file_to_its_utc_hours_at_the_autumn_change(settings, conn, tmp_path):
    name = "2013-11-03-1"
    events = [
        legacy_event(login="pdt", created_at="2013-11-03T01:30:00-07:00"),
        legacy_event(login="pst", created_at="2013-11-03T01:30:00-08:00"),
    ]
    run_backfill(settings, file_targets([str(write_lines(tmp_path / f"{name}.json.gz", events, compress=True))]))
    run_etl(conn)

    first, last = utc_hours_of_file(parse_hour(name))
    report = completeness(conn, first, last)
    assert [(r[0], r[1], r[2], r[5], r[6], r[7]) for r in report] == [
        ("2013-11-03-8", 1, 1, "archive", name, "legacy_timeline"),
        ("2013-11-03-9", 1, 1, "archive", name, "legacy_timeline"),
    ]


def test_legacy_events_an_older_loader_dead_lettered_are_replayed_into_bronze(conn):
    from ghdw.bronze.dlq import list_entries, replay

    text = json.dumps(legacy_event())
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bronze.dead_letter_queue (raw_text, error_message, source) "
            "VALUES (%s, 'not an event: no \"id\" string or number', 'gharchive:2014-06-01-1')",
            (text,),
        )
    conn.commit()

    result = replay(conn, None)

    assert (result.entries, result.resolved, result.inserted) == (1, 1, 1)
    assert list_entries(conn) == []
    assert scalar(conn, "SELECT event_id LIKE 'legacy-%' FROM bronze.raw_events") is True
