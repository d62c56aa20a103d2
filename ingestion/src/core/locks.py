"""Every PostgreSQL advisory-lock key the pipeline uses, in one place so no two jobs share one.

Session or transaction locks on these keys serialise work that must not interleave across
processes (two setups, two ETL cycles, two DLQ replays). Keys are arbitrary but fixed: an
operator can see who holds one in pg_locks (objid = key).
"""

SETUP_LOCK_KEY = 4_242_001  # pg_advisory_lock: schema setup and migrations, one at a time
ETL_LOCK_KEY = 4_242_002  # pg_try_advisory_lock: one silver+gold cycle at a time
REPLAY_LOCK_KEY = 4_242_003  # pg_advisory_xact_lock: one DLQ replay at a time (it maps new rows to entries)
# pg_try_advisory_lock by a parallel silver run (ranges on several sessions); silver.load_batch()
# takes it as a transaction lock, so a batch never overlaps a parallel run's ranges. The key is
# silver.run_lock_key() in warehouse/silver/etl/load_silver_batch.sql; a test keeps them equal.
SILVER_RUN_LOCK_KEY = 4_242_004
