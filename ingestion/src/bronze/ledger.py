"""The backfill ledger, bronze.backfill_files: which files are loaded, partial, failed or loading.

A file is marked 'loading' before its first chunk and 'completed' only after its last chunk has
committed, so a crash leaves 'loading' and a rerun loads it again (the loader's dedup makes that
exact); a rerun skips completed files unless forced.
"""

from __future__ import annotations

from ghdw.bronze_loader import LoadReport
from ghdw.core.redaction import redact
from ghdw.core.sqlfiles import load_sql
from ghdw.sources.gharchive import Target
from ghdw.sources.streams import HashingReader

RECORD_FILE_SQL = load_sql("bronze/backfill/record_file.sql")


def file_status(conn, name: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SELECT status FROM bronze.backfill_files WHERE file_name = %s", (name,))
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else None


def record_file(
    conn,
    target: Target,
    status: str,
    report: LoadReport,
    hashing: HashingReader | None,
    error: str | None,
    finished: bool,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            RECORD_FILE_SQL,
            {
                "name": target.name,
                "uri": target.uri,
                "status": status,
                "lines": report.lines,
                "loaded": report.inserted,
                "dups": report.duplicates,
                "errors": report.errors,
                "bytes": hashing.bytes if hashing else 0,
                "sha": hashing.sha256.hexdigest() if hashing else None,
                "finished": finished,
                "error": redact(error),
            },
        )
    conn.commit()
