"""`python ingestion/src/health.py`, as the README and docker-compose have run it: the same as `ghdw health`."""

import sys

from ghdw.cli import main

if __name__ == "__main__":
    sys.exit(main(["health", *sys.argv[1:]]))
