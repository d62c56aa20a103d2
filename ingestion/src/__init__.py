"""ghdw: the GitHub Events Data Warehouse pipeline (bronze -> silver -> gold).

The specification's modules sit at the top (main, api_client, bronze_loader, process_silver,
process_gold, process_etl, config, logger); the rest is grouped by the flow of an event:
sources (files, GH Archive) -> bronze (backfill, DLQ) -> transform -> ops (health, queries,
report, psql, supervisor); core holds the shared plumbing, dev the local GitHub of the demo.
The `ghdw` command (ghdw.cli) runs every one of them.
"""

import logging

# Every module logs through logging.getLogger(__name__), a child of this logger; logger.py
# configures it once at start-up (handlers + secret redaction), so no module has to be registered.
logging.getLogger(__name__).addHandler(logging.NullHandler())
