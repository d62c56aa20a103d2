"""Gold ETL runner: executes warehouse/gold/etl/master_gold_etl.sql as one transaction.

The script carries its own BEGIN ... COMMIT, so it runs the same here and under psql.
Each RAISE NOTICE of the script is forwarded to the GOLD_ETL log as it arrives. On any
error the transaction is rolled back: gold and its watermark stay as they were, and the
next run retries the same range.
"""

from __future__ import annotations

import logging
import sys

from ghdw.core import db
from ghdw.core.sqlfiles import load_sql
from ghdw.logger import start_process

log = logging.getLogger("ghdw.GOLD_ETL")

GOLD_ETL_SQL = "gold/etl/master_gold_etl.sql"  # under warehouse/


class GoldEtlError(RuntimeError):
    """The gold transaction failed and was rolled back."""


class _NoticeForwarder:
    """psycopg2 appends each server notice here (conn.notices); we log it instead of keeping it."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.lines: list[str] = []

    def append(self, notice: str) -> None:
        text = notice.strip()
        for prefix in ("NOTICE:", "WARNING:", "INFO:"):
            if text.startswith(prefix):
                text = text[len(prefix) :].strip()
        self.lines.append(text)
        self.logger.info("%s", text)


def run_gold(conn) -> list[str]:
    """Run the gold ETL; returns the NOTICE lines. Raises GoldEtlError after rolling back."""
    script = load_sql(GOLD_ETL_SQL)
    forwarder = _NoticeForwarder(log)
    previous_notices = conn.notices
    conn.notices = forwarder
    conn.autocommit = True  # the script's own BEGIN/COMMIT delimit the transaction
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(script)
            except Exception as exc:
                cur.execute("ROLLBACK")
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.error(
                    "ROLLBACK: gold ETL failed (%s); gold and its watermark are unchanged, the next run retries.",
                    message,
                )
                raise GoldEtlError(message) from exc
        log.info("COMMIT SUCCESSFUL: Gold Layer is up to date.")
        return forwarder.lines
    finally:
        conn.notices = previous_notices
        conn.autocommit = False


def main() -> int:
    settings = start_process()
    with db.connection(settings) as conn:
        try:
            run_gold(conn)
        except GoldEtlError:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
