"""`python ingestion/src/backfill.py`, as the README and docker-compose have run it: the same as `ghdw backfill`."""

import sys

from ghdw.cli import main

if __name__ == "__main__":
    sys.exit(main(["backfill", *sys.argv[1:]]))
