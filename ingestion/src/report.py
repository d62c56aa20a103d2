"""`python ingestion/src/report.py`, as the README and docker-compose have run it: the same as `ghdw report`."""

import sys

from ghdw.cli import main

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))
