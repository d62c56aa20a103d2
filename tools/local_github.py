"""`python tools/local_github.py ...`, as the README has run it: the same as `ghdw local-github ...`.
The local GitHub itself is ghdw.dev.local_github (in the package, so the demo needs nothing from tools/)."""

import sys

from ghdw.cli import main

if __name__ == "__main__":
    sys.exit(main(["local-github", *sys.argv[1:]]))
