"""The one way Python reads the warehouse's SQL: files under warehouse/, by their path there.

warehouse/ is found next to the package's source tree (a checkout, installed editable by make),
else in the working directory (the Docker image runs in /app, which holds warehouse/); the
WAREHOUSE_DIR variable overrides both. Statements are whole files: nothing is assembled with
str.format, values travel as query parameters, identifiers through psycopg2.sql.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ghdw.config import PROJECT_DIR


class SqlFileMissing(FileNotFoundError):
    """A statement file the code names is not under warehouse/ (a broken install)."""


def warehouse_dir() -> Path:
    override = os.environ.get("WAREHOUSE_DIR")
    return Path(override) if override else PROJECT_DIR / "warehouse"


def sql_path(relative: str) -> Path:
    """warehouse/<relative>, checked to exist."""
    path = warehouse_dir() / relative
    if not path.is_file():
        raise SqlFileMissing(f"{path} not found (is warehouse/ installed next to the package? set WAREHOUSE_DIR)")
    return path


@functools.lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int, size: int) -> str:
    return path.read_text(encoding="utf-8")


def load_sql(relative: str) -> str:
    """The text of warehouse/<relative>, e.g. load_sql("bronze/load/fast_insert.sql").

    Cached by the file's modification time and size, so a long-running process (the scheduler,
    the listener) reads a file again after an upgrade replaced it (git pull, a new image's
    volume), instead of running the old text against the upgraded schema."""
    path = sql_path(relative)
    stat = path.stat()
    return _read(path, stat.st_mtime_ns, stat.st_size)
