"""`python -m ghdw <command>`: the same as the `ghdw` command."""

import sys

from ghdw.cli import main

sys.exit(main())
