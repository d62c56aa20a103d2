"""The `ghdw` command: every process and tool of the pipeline as one subcommand.

    ghdw setup | listen | etl | load | backfill | dlq | health | queries | report | psql | run | demo

Each subcommand is the module's own command line (`ghdw <command> --help` shows it); the
specification's scripts (python setup_db.py, python ingestion/src/main.py, ...) run the same code.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ghdw.core.lifecycle import run_main


@dataclass(frozen=True)
class Command:
    module: str  # the module whose main(argv) runs it
    summary: str
    fixed_args: tuple[str, ...] = ()  # put before the user's arguments


COMMANDS = {
    "setup": Command("ghdw.core.schema", "create or upgrade the warehouse schema (= python setup_db.py)"),
    "listen": Command("ghdw.main", "the bronze listener: poll GitHub's events API (= python ingestion/src/main.py)"),
    "load": Command(
        "ghdw.main",
        "load event files into bronze once: ghdw load PATH... (= main.py --once --source)",
        ("--once", "--source"),
    ),
    "etl": Command("ghdw.process_etl", "the silver + gold scheduler (= python ingestion/src/process_etl.py)"),
    "backfill": Command("ghdw.bronze.backfill", "load GH Archive hours or local files into bronze, with a ledger"),
    "dlq": Command("ghdw.bronze.dlq", "list, show, replay or resolve dead-letter queue entries"),
    "health": Command("ghdw.ops.health", "the warehouse's health checks (exit 1 on a failed check)"),
    "queries": Command("ghdw.ops.queries", "the health checks and the analytical queries Q1-Q4"),
    "report": Command("ghdw.ops.report", "write the offline HTML report (report.html)"),
    "psql": Command("ghdw.ops.psql", "psql on the configured warehouse (arguments go to psql)"),
    "run": Command("ghdw.ops.supervisor", "listener + scheduler together until Ctrl-C"),
    "demo": Command(
        "ghdw.ops.supervisor",
        "listener + scheduler against a local GitHub, then checks and Q1-Q4",
        ("--local-github", "--show"),
    ),
    "local-github": Command("ghdw.dev.local_github", "serve recorded events as a local GitHub events API"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        __doc__.strip().splitlines()[0],
        "",
        "usage: ghdw <command> [arguments]   (ghdw <command> --help)",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    return "\n".join(lines)


def entry_point(name: str) -> Callable[[list[str]], int]:
    command = COMMANDS[name]
    main = importlib.import_module(command.module).main
    return lambda argv: main([*command.fixed_args, *argv])


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"ghdw: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    sys.argv[0] = f"ghdw {name}"  # argparse's prog: `usage: ghdw backfill ...`
    entry = entry_point(name)
    # As every script's `exit_with(main)`: a database error a user can meet is one line and an exit code.
    return run_main(lambda: int(entry(rest) or 0))


if __name__ == "__main__":
    sys.exit(main())
