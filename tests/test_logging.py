"""Log files rotate at LOG_MAX_BYTES, keeping LOG_BACKUP_COUNT old ones, and processes that share a
log file (the listener and the scheduler both write pipeline.log) rotate it without losing lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - (SILVER_JOB|ORCHESTRATOR) - INFO - "
    r"writer (\w+) line (\d+) x+$"
)
# Each process logs this many lines of about 100 bytes through the real start-up path.
WRITER = """
import logging, sys
from ghdw.logger import start_process
start_process()
name, count, logger = sys.argv[1], int(sys.argv[2]), logging.getLogger(sys.argv[3])
for i in range(count):
    logger.info("writer %s line %d %s", name, i, "x" * 40)
"""


def _writer(log_dir, name: str, count: int, logger: str, max_bytes: int, backups: int) -> subprocess.Popen:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LOG_DIR": str(log_dir),
        "LOG_MAX_BYTES": str(max_bytes),
        "LOG_BACKUP_COUNT": str(backups),
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    return subprocess.Popen(
        [sys.executable, "-c", WRITER.format(src=str(REPO_ROOT / "ingestion" / "src")), name, str(count), logger],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _pipeline_files(log_dir):
    return sorted(p for p in log_dir.iterdir() if p.name == "pipeline.log" or p.name.startswith("pipeline.log."))


def test_a_log_file_rotates_when_it_would_pass_log_max_bytes(tmp_path):
    assert _writer(tmp_path, "solo", 400, "ghdw.SILVER_JOB", max_bytes=4096, backups=3).wait(timeout=120) == 0
    files = {p.name: p.stat().st_size for p in _pipeline_files(tmp_path) if not p.name.endswith(".lock")}
    # ~40 KB written, 4 KB per file, 3 backups kept: the oldest lines are gone, nothing grows past the limit.
    assert set(files) == {"pipeline.log", "pipeline.log.1", "pipeline.log.2", "pipeline.log.3"}
    assert all(size <= 4096 for size in files.values()), files
    newest = (tmp_path / "pipeline.log").read_text().splitlines()
    assert newest[-1].endswith(f"writer solo line 399 {'x' * 40}")


def test_two_processes_sharing_a_log_file_rotate_it_without_losing_or_mangling_lines(tmp_path):
    count, max_bytes = 1500, 16_384
    # Enough backups to keep everything both write (~300 KB), so every line must still be there.
    writers = [
        _writer(tmp_path, name, count, logger, max_bytes, backups=100)
        for name, logger in (("listener", "ghdw.ORCHESTRATOR"), ("scheduler", "ghdw.SILVER_JOB"))
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    files = [p for p in _pipeline_files(tmp_path) if not p.name.endswith(".lock")]
    assert len(files) > 2, "pipeline.log never rotated"
    seen = {"listener": [], "scheduler": []}
    for path in files:
        assert path.stat().st_size <= max_bytes, f"{path.name} grew past LOG_MAX_BYTES"
        for line in path.read_text().splitlines():
            if " - DATABASE - INFO - Database: " in line:
                continue  # each process's start line
            match = LINE.match(line)
            assert match, f"mangled line in {path.name}: {line!r}"
            seen[match.group(2)].append(int(match.group(3)))
    for name, numbers in seen.items():
        assert sorted(numbers) == list(range(count)), f"{name}'s lines lost or duplicated"
