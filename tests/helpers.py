"""Small helpers shared by the tests: run the pipeline steps on a warehouse connection."""
from __future__ import annotations

from bronze_loader import load_events
from process_gold import run_gold
from process_silver import run_silver


def run_etl(conn, batch_size: int = 5_000) -> list[str]:
    """One silver + gold cycle, as the scheduler runs it; returns gold's NOTICE lines."""
    run_silver(conn, batch_size)
    return run_gold(conn)


def load_and_etl(conn, events: list[dict], source: str = "test") -> list[str]:
    load_events(conn, events, source)
    return run_etl(conn)
