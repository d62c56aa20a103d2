"""Create or upgrade the whole warehouse: `python setup_db.py [--recreate]` (the same as `ghdw setup`).

The work is in ghdw.core.schema: the baseline layer files under warehouse/, then the ordered
migrations in warehouse/migrations/, recorded in ghdw_meta.schema_migrations.
"""

from ghdw.core.lifecycle import exit_with
from ghdw.core.schema import main

if __name__ == "__main__":
    exit_with(main)
