"""Every PostgreSQL advisory-lock key the pipeline uses, in one place so no two jobs share one.

Session or transaction locks on these keys serialise work that must not interleave across
processes (two setups, two ETL cycles, two DLQ replays). Keys are arbitrary but fixed: an
operator can see who holds one in pg_locks (objid = key).
"""

SETUP_LOCK_KEY = 4_242_001  # pg_advisory_lock: schema setup and migrations, one at a time
ETL_LOCK_KEY = 4_242_002  # pg_try_advisory_lock: one silver+gold cycle at a time
REPLAY_LOCK_KEY = 4_242_003  # pg_advisory_xact_lock: one DLQ replay at a time (it maps new rows to entries)
