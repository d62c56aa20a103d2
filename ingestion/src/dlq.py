"""`python ingestion/src/dlq.py`, as the README and docker-compose have run it: the same as `ghdw dlq`."""

import sys

from ghdw.cli import main

if __name__ == "__main__":
    sys.exit(main(["dlq", *sys.argv[1:]]))
