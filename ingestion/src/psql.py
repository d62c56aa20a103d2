"""Open psql on the warehouse: `make psql` (or python ingestion/src/psql.py [psql args]).

For the embedded server this uses the psql shipped with it, so no PostgreSQL client
needs to be installed; for a configured server it runs the system's psql.
"""
from __future__ import annotations

import os
import subprocess
import sys

import db
from logger import start_process


def main(argv: list[str]) -> int:
    settings = start_process()
    env = dict(os.environ)
    if settings.uses_embedded_db:
        server = db.embedded_server(settings)
        db.connect_kwargs(settings)  # creates the database on first use
        command = [str(server.bin_path / "psql"), server.get_uri(settings.db_name)]
    elif settings.database_url:
        command = ["psql", settings.database_url]
    else:
        command = ["psql", "-h", settings.db_host, "-p", str(settings.db_port), "-U", settings.db_user,
                   settings.db_name]
        if settings.db_pass:
            env["PGPASSWORD"] = settings.db_pass  # via the environment, never on the command line
    return subprocess.call(command + argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
