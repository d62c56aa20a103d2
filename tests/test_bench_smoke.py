"""The benchmark script runs end to end at a tiny size (a smoke run: it works, not how fast)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)


def test_benchmark_smoke_run_prints_its_figures_as_json(admin_settings, tmp_path):
    env = {k: v for k, v in os.environ.items()}
    env["LOG_DIR"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "bench/bench_pipeline.py",
            "--events",
            "300",
            "--incremental-bases",
            "200,400",
            "--legacy",
            "--json",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "copy_eps",
        "bronze_eps",
        "end_to_end_eps",
        "bronze_vs_copy",
        "end_to_end_vs_copy",
        "incremental_ratio",
        "peak_rss_mb",
    ):
        assert figures[key] is not None and figures[key] > 0, key
    assert figures["gold_rows"] == 300
    # --legacy: recorded legacy Timeline events against modern ones of similar size, each to gold
    assert figures["legacy"]["gold_rows"] == figures["modern_same_size"]["gold_rows"] == 300
    assert figures["legacy_vs_modern"] > 0


def test_query_benchmark_smoke_run_times_every_spec_query(admin_settings, tmp_path):
    env = {k: v for k, v in os.environ.items()}
    env["LOG_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "bench/bench_queries.py", "--events", "2000", "--repeats", "1", "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["gold_rows"] == 2000
    assert len(figures["query_ms"]) == 3 + 2 + 5 + 1  # Q1-Q3, fast Q1-Q2, five health checks, health.py's view
