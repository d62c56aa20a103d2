"""Open psql on the warehouse: `make psql` (or python ingestion/src/psql.py [psql args]).

For the embedded server this uses the psql shipped with it, so no PostgreSQL client
needs to be installed; for a configured server it runs the system's psql.

The password never reaches psql's command line (anyone can read it in `ps`) nor its
environment: psql gets the connection as libpq keywords without the password, and the
password in a private password file that is deleted when psql exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from psycopg2.extensions import make_dsn, parse_dsn

from ghdw.config import SERVICE_ROLES
from ghdw.core import db
from ghdw.logger import start_process

# Variables psql does not need and must not inherit: they hold secrets.
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


def main(argv: list[str]) -> int:
    settings = start_process()
    conninfo, password = connection_parts(settings)
    psql = str(db.embedded_server(settings).bin_path / "psql") if settings.uses_embedded_db else "psql"
    env = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="ghdw-psql-") as private:  # mode 0700
        if password:
            env["PGPASSFILE"] = str(_write_passfile(Path(private), password))
        return subprocess.call([psql, conninfo, *argv], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
