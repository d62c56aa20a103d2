"""Dashboards: every Metabase question runs against gold built from real events, as the BI role;
the provisioning script makes the right Metabase API calls, and a second run changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date

import pytest
from conftest import REPO_ROOT, real_data_files
from fake_metabase import FakeMetabase
from helpers import run_etl

from dashboards.provision_metabase import REPOSITORY_MANIFEST, Metabase, load_manifest, provision
from ghdw.core import schema as setup_db
from ghdw.main import load_files
from ghdw.ops.queries import anchor

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

ENV = {
    "WAREHOUSE_HOST": "postgres",
    "WAREHOUSE_PORT": "5432",
    "WAREHOUSE_DB": "github_events",
    "WAREHOUSE_BI_USER": "gh_bi",
    "BI_DB_PASS": "bi-pass-xyz",
    "METABASE_ADMIN_EMAIL": "admin@example.com",
    "METABASE_ADMIN_PASSWORD": "mb-admin-pass-42",
}


def test_every_dashboard_question_runs_on_real_gold_as_the_bi_role(settings, conn):
    files = real_data_files()
    if not files:
        pytest.skip("the recorded real events (../shared/data/real) are not available")
    load_files(conn, files)
    run_etl(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT MAX(event_time)::DATE FROM gold.fact_events")
        as_of: date = cur.fetchone()[0]
    setup_db.apply_role_passwords(conn, replace(settings, role_passwords={"gh_bi": "bi-secret"}))
    bi_url = settings.database_url.replace("postgres:@", "gh_bi:bi-secret@", 1)
    import psycopg2

    bi = psycopg2.connect(bi_url)
    try:
        results = {}
        with bi.cursor() as cur:
            for question in load_manifest()["questions"]:
                cur.execute(anchor(question["query"], as_of))
                results[question["name"]] = cur.fetchall()
        bi.rollback()
    finally:
        bi.close()
    assert len(results) == 7
    for name in (
        "Q1: Daily event volume (last 7 days)",
        "Q2: Top 10 repositories (this month)",
        "Q3: Hourly pattern, weekday vs weekend (last 30 days)",
        "Event-type mix (last 30 days)",
        "Top 10 actors (last 30 days)",
    ):
        assert results[name], f"{name} returned no rows on real data"
    mix = results["Event-type mix (last 30 days)"]
    assert abs(sum(row[3] for row in mix) - 100) < 1  # shares add up to 100 %
    (health,) = results["Pipeline health"]
    assert health[3] == 0  # bronze backlog after a full ETL cycle


def test_provisioning_creates_database_questions_and_dashboard_then_is_idempotent():
    manifest = load_manifest()
    with FakeMetabase() as fake:
        mb = Metabase(fake.url)
        mb.log_in(ENV["METABASE_ADMIN_EMAIL"], ENV["METABASE_ADMIN_PASSWORD"])
        first = provision(mb, ENV, manifest)
        assert (first["cards_created"], first["dashboards_created"], first["dashcards_added"]) == (7, 1, 7)
        (database,) = fake.databases.values()
        assert database["engine"] == "postgres"
        assert database["details"]["user"] == "gh_bi" and database["details"]["password"] == "bi-pass-xyz"
        assert ("POST", "/api/setup") in fake.calls()  # a fresh Metabase gets its admin account
        card_sql = {c["name"]: c["dataset_query"]["native"]["query"] for c in fake.cards.values()}
        assert "FROM gold.agg_monthly_repo_activity a" in card_sql["Q2: Top 10 repositories (this month)"]
        (dashboard,) = fake.dashboards.values()
        assert sorted(d["card_id"] for d in dashboard["dashcards"]) == sorted(fake.cards)

        fake.requests.clear()
        second = provision(mb, ENV, manifest)
        assert (
            second["cards_created"],
            second["cards_updated"],
            second["dashboards_created"],
            second["dashcards_added"],
        ) == (0, 0, 0, 0)
        assert fake.calls("POST") == [] and fake.calls("PUT") == []

        manifest["questions"][0]["query"] += "\n-- edited"
        third = provision(mb, ENV, manifest)
        assert third["cards_updated"] == 1 and len(fake.cards) == 7


def test_provisioning_command_runs_against_a_local_metabase_and_keeps_passwords_out_of_its_output():
    with FakeMetabase() as fake:
        env = {**ENV, "METABASE_URL": fake.url, "PATH": "/usr/bin:/bin"}
        for _ in range(2):
            result = subprocess.run(
                [sys.executable, "dashboards/provision_metabase.py"],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
        assert "Metabase provisioned" in result.stderr and "'cards_created': 0" in result.stderr
        assert len(fake.cards) == 7 + 6 and len(fake.dashboards) == 2  # the overview and the repository one
        output = result.stdout + result.stderr
        assert ENV["BI_DB_PASS"] not in output and ENV["METABASE_ADMIN_PASSWORD"] not in output
        wrong = subprocess.run(
            [sys.executable, "dashboards/provision_metabase.py"],
            cwd=REPO_ROOT,
            env={**env, "METABASE_ADMIN_PASSWORD": "wrong-pass-77"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert wrong.returncode == 1 and "POST /api/session -> HTTP 401" in wrong.stderr
        assert "wrong-pass-77" not in wrong.stdout + wrong.stderr


def test_manifest_names_existing_sql_files_and_a_grid_that_fits():
    for name in ("dashboard.json", "repository_dashboard.json"):
        manifest = json.loads((REPO_ROOT / "dashboards" / name).read_text())
        for question in manifest["questions"]:
            assert (REPO_ROOT / "dashboards" / question["sql"]).is_file(), question["sql"]
            assert question["col"] + question["size_x"] <= 24  # Metabase's dashboard grid is 24 wide


def test_repository_dashboard_has_a_repository_filter_wired_to_every_question_then_is_idempotent():
    manifest = load_manifest(REPOSITORY_MANIFEST)
    with FakeMetabase() as fake:
        mb = Metabase(fake.url)
        mb.log_in(ENV["METABASE_ADMIN_EMAIL"], ENV["METABASE_ADMIN_PASSWORD"])
        first = provision(mb, ENV, manifest)
        assert (first["cards_created"], first["dashboards_created"], first["dashcards_added"]) == (6, 1, 6)
        for card in fake.cards.values():
            tags = card["dataset_query"]["native"]["template-tags"]
            assert tags["repo"]["type"] == "text" and "{{repo}}" in card["dataset_query"]["native"]["query"]
        (dashboard,) = fake.dashboards.values()
        assert [p["slug"] for p in dashboard["parameters"]] == ["repo"]
        for dashcard in dashboard["dashcards"]:
            assert dashcard["parameter_mappings"] == [
                {
                    "parameter_id": "repo",
                    "card_id": dashcard["card_id"],
                    "target": ["variable", ["template-tag", "repo"]],
                }
            ]
        fake.requests.clear()
        provision(mb, ENV, manifest)
        assert fake.calls("POST") == [] and fake.calls("PUT") == []
