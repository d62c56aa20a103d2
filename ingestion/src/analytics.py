"""`python ingestion/src/analytics.py`, as the README and docker-compose have run it: the same as `ghdw queries`."""

import sys

from ghdw.cli import main

if __name__ == "__main__":
    sys.exit(main(["queries", *sys.argv[1:]]))
