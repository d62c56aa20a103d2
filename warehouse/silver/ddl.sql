-- =============================================================================
-- silver/ddl.sql — the clean layer: one typed, flattened row per bronze event.
--
-- silver.events
--   grain:   one row per GitHub event id (same ids as bronze.raw_events).
--   written: silver.load_batch(), called in batches by ingestion/src/process_silver.py; this
--            file's upgrade step gives reject_reason to rows an earlier version left without one.
--   read:    silver.v_events (and through it the gold ETL), gold.v_pipeline_health (rejected
--            counts); analysts may query it.
--   Ids are kept as the text GitHub sent; silver.v_events does the safe BIGINT cast,
--   so a malformed id is visible here rather than lost in a failed cast.
--   processed_xid is the silver transaction that wrote the row: the gold ETL reads
--   new rows by processed_xid, not by processed_at, because a timestamp is taken
--   before its transaction commits and a watermark on it can skip late commits.
--
--   Every bronze event gets exactly one silver row, so "bronze rows not in silver.events" is
--   the true backlog. A row gold must not take keeps a reject_reason and stays here, counted
--   (gold.v_pipeline_health, health.py); silver.v_events passes only rows without one. So:
--   bronze rows = silver rows, and silver rows = gold facts + rows with a reject_reason.
--
-- silver.etl_watermark
--   grain:   one row per consumer of bronze (today: 'silver.events').
--   written: silver.load_batch(), in the same transaction as the rows it describes.
--
-- The event rules (functions below; silver.load_batch() and silver.v_events apply them):
--   * event id: at most silver.max_event_id_length() characters, else rejected. Bronze has
--     already dead-lettered any id its primary key cannot index (about 2,700 bytes).
--   * type: a JSON string of 1..silver.max_event_type_length() characters without control
--     characters. Missing, null, or empty/blank: the documented sentinel 'Unknown', with a
--     sentinel_reason. Any other value (a number, an object, oversized, control characters)
--     is rejected: it is not a type name, and an oversized one cannot be indexed.
--   * created_at: a JSON string YYYY-MM-DD{T| }hh:mm[:ss[.fraction]] with an optional offset
--     (Z, +hh, +hhmm, +hh:mm). An offset converts to UTC; no offset means UTC. 24:00:00 is
--     ISO 8601's end of that day, i.e. the next day's 00:00:00 (24:00:01 is invalid); a leap
--     second :60 rolls over to the next minute, as PostgreSQL reads it. Anything else
--     (missing, a number, an impossible date like 2015-13-45, words like 'now') is rejected,
--     and so is a time outside [silver.min_event_time(), silver.max_event_time()), because
--     gold.dim_date keys days as INT YYYYMMDD and is extended day by day to cover events.
--   * actor.id / repo.id: digits only and at most 9223372036854775807 (BIGINT) become the id;
--     anything else (missing, overflow, negative, decimal, non-digits) is the sentinel -1
--     (unknownuser / unknownrepo) in gold, with a sentinel_reason here.
--   The first failing rule gives the reject_reason (id, then type, then created_at).
--
-- Legacy Timeline events (bronze id starting with bronze.legacy_id_prefix(); event_format
-- 'legacy_timeline') go through the same rules, with their own places for the same facts:
--   * actor: the login is `actor` (a string) or else actor_attributes.login. There is no actor
--     id: actor_id is silver.legacy_actor_id(login), a surrogate in [-(2^62 + 1), -2] that no
--     GitHub id (positive) nor the sentinel -1 can take, from the lower-cased login (GitHub
--     logins are case-insensitive), so the same login gives the same actor whatever the load
--     order. A login seen in both formats is two actors: logins were renamed and reused since
--     2014, and no order-independent rule can tell which modern id a 2012 login belonged to.
--     No login (missing, not a string, blank): the sentinel -1.
--   * repository: repo_id from repository.id (same rule as repo.id), repo_name 'owner/name'
--     (the form of today's repo.name; name alone when the owner is missing), org_login from
--     repository.organization. No repository object: the sentinel -1.
--   * created_at carries a local offset (e.g. -07:00), converted to UTC like any offset.
--   * Overlap: GH Archive's legacy files 2014-12-31-16 .. 23 (named in Pacific time) hold the
--     same UTC hours as the modern files 2015-01-01-0 .. 7. From silver.modern_format_start()
--     on, gold holds modern events only: a legacy event at or after it is kept here with the
--     reject_reason 'legacy timeline event at or after 2015-01-01 00:00 UTC (modern format
--     holds that time)', so loading both formats never counts an event twice, in any order.
-- Idempotent: safe to run any number of times; an existing warehouse is upgraded in place.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS silver;

CREATE TABLE IF NOT EXISTS silver.events (
    event_id            TEXT        NOT NULL,
    -- The type name when usable (rules below); NULL when missing or not a usable name, so an
    -- oversized value never reaches idx_silver_events_event_type (the original stays in bronze).
    event_type          TEXT,
    actor_id            TEXT,
    actor_login         TEXT,
    repo_id             TEXT,
    repo_name           TEXT,
    org_login           TEXT,
    is_public           BOOLEAN,
    created_at_raw      TEXT,
    -- UTC; NULL when created_at was missing or not a timestamp (silver.v_events filters those).
    event_time          TIMESTAMP,
    bronze_ingested_at  TIMESTAMPTZ NOT NULL,
    processed_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_xid       XID8        NOT NULL DEFAULT pg_current_xact_id(),
    -- Why gold must not take this event (NULL: it goes to gold). See the rules above.
    reject_reason       TEXT,
    -- Which values reach gold as a sentinel, and why (NULL: none).
    sentinel_reason     TEXT,
    -- The shape the event came in: 'modern' (GitHub's Events API, GH Archive from 2015-01-01)
    -- or 'legacy_timeline' (GH Archive 2011-02-12 .. 2014-12-31). gold.fact_events carries it.
    event_format        TEXT        NOT NULL DEFAULT 'modern',
    CONSTRAINT pk_silver_events PRIMARY KEY (event_id),
    CONSTRAINT chk_silver_events_event_format CHECK (event_format IN ('modern', 'legacy_timeline'))
);

-- Gold's incremental read: processed_xid in [watermark, snapshot xmin).
CREATE INDEX IF NOT EXISTS idx_silver_events_processed_xid ON silver.events (processed_xid);
-- No index on event_time, event_type or processed_at: nothing in the pipeline, the health
-- checks or the question suite reads silver by them (gold has those keys, indexed), and each
-- index cost every silver batch about 4 % (migration 0014 dropped them from older warehouses).
-- gold.v_pipeline_health counts rejected rows (all, and of the last 24 h): a probe of this
-- small partial index instead of a scan of every silver row.
CREATE INDEX IF NOT EXISTS idx_silver_events_rejected
    ON silver.events (processed_at) WHERE reject_reason IS NOT NULL;

-- One parallel worker at most, like bronze.raw_events: the health check's backlog anti-join
-- (bronze NOT EXISTS in silver) then runs as a merge of the two primary keys (index-only),
-- 0.47 s at 5,000,000 events on 2 cores, where the default parallel hash anti-join took 1.1 s.
ALTER TABLE silver.events SET (parallel_workers = 1);

CREATE TABLE IF NOT EXISTS silver.etl_watermark (
    pipeline            TEXT        NOT NULL,
    last_xid            XID8        NOT NULL DEFAULT '0'::xid8,
    last_raw_event_id   BIGINT      NOT NULL DEFAULT 0,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_silver_etl_watermark PRIMARY KEY (pipeline)
);

INSERT INTO silver.etl_watermark (pipeline) VALUES ('silver.events')
ON CONFLICT (pipeline) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- The event rules. Plain SQL expressions, so the planner inlines them into silver.load_batch()
-- and silver.v_events (no per-row function call). Casts sit outside the CASE that guards them,
-- so even a constant argument is never cast before it has been checked.
-- ---------------------------------------------------------------------------------------------

-- GitHub's event ids are decimal numbers of about 11 digits (BIGINT range: at most 19); 100
-- characters leaves room for any other id scheme and keeps gold's primary key entries small.
CREATE OR REPLACE FUNCTION silver.max_event_id_length() RETURNS INT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 100 $$;

-- The longest type GitHub documents is 'PullRequestReviewCommentEvent' (29 characters); 100
-- leaves room for new ones and keeps every index entry far below btree's 2,704-byte limit.
CREATE OR REPLACE FUNCTION silver.max_event_type_length() RETURNS INT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 100 $$;

-- GitHub opened in 2008: nothing earlier can be a GitHub event.
CREATE OR REPLACE FUNCTION silver.min_event_time() RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT TIMESTAMP '2008-01-01 00:00:00' $$;

-- Exclusive. Far enough ahead for any clock skew or future-dated test event, near enough that
-- extending gold.dim_date to cover an event adds at most a few tens of thousands of days.
CREATE OR REPLACE FUNCTION silver.max_event_time() RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT TIMESTAMP '2100-01-01 00:00:00' $$;

-- An actor or repository id as BIGINT, or NULL when it is not digits only or overflows BIGINT.
-- (The digits check comes first: bigint input alone also accepts ' 12', '+12', '1_000', '0x1F'.)
CREATE OR REPLACE FUNCTION silver.github_id(p_id TEXT) RETURNS BIGINT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN p_id ~ '^[0-9]+$' AND pg_input_is_valid(p_id, 'bigint') THEN p_id END)::BIGINT
$$;

-- The event's type name when it is usable (see the rules in the header), else NULL.
CREATE OR REPLACE FUNCTION silver.event_type_of(p_type JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p_type) = 'string'
                 AND length(p_type #>> '{}') <= silver.max_event_type_length()
                 AND btrim(p_type #>> '{}') <> ''
                 AND p_type #>> '{}' !~ '[[:cntrl:]]'
                THEN p_type #>> '{}' END
$$;

-- ISO 8601 text without an offset gets 'Z': created_at without an offset is UTC, and the cast
-- below then never depends on the session's TimeZone.
CREATE OR REPLACE FUNCTION silver.utc_unless_offset(p_time TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_time ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN p_time ELSE p_time || 'Z' END
$$;

-- created_at as a UTC timestamp under the rule in the header, or NULL when it does not follow it.
-- The first branch is the shape GitHub and GH Archive send (2024-06-08T13:14:15Z), told by its
-- digits' positions (translate() is far cheaper than the general pattern): the same result as the
-- second, general branch, at a fifth of its cost.
CREATE OR REPLACE FUNCTION silver.event_time_of(p_created_at JSONB) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN jsonb_typeof(p_created_at) <> 'string' THEN NULL
                 WHEN translate(p_created_at #>> '{}', '123456789', '000000000') = '0000-00-00T00:00:00Z'
                 THEN CASE WHEN pg_input_is_valid(p_created_at #>> '{}', 'timestamptz') THEN p_created_at #>> '{}' END
                 WHEN p_created_at #>> '{}'
                      ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
                  AND pg_input_is_valid(silver.utc_unless_offset(p_created_at #>> '{}'), 'timestamptz')
                 THEN silver.utc_unless_offset(p_created_at #>> '{}') END)::TIMESTAMPTZ AT TIME ZONE 'UTC'
$$;

-- Why gold must not take this event, or NULL when it may. p_event_time is
-- silver.event_time_of(p_created_at), computed once by the caller. Reasons are fixed phrases
-- (the offending value stays in bronze and in created_at_raw), so they can be counted by reason.
CREATE OR REPLACE FUNCTION silver.reject_reason(p_event_id TEXT, p_type JSONB, p_created_at JSONB,
                                                p_event_time TIMESTAMP)
RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN length(p_event_id) > silver.max_event_id_length()
            THEN 'event id longer than ' || silver.max_event_id_length() || ' characters'
        WHEN COALESCE(jsonb_typeof(p_type), 'null') NOT IN ('null', 'string')
            THEN 'type is a JSON ' || jsonb_typeof(p_type) || ', not a string'
        WHEN length(p_type #>> '{}') > silver.max_event_type_length()
            THEN 'type longer than ' || silver.max_event_type_length() || ' characters'
        WHEN p_type #>> '{}' ~ '[[:cntrl:]]'
            THEN 'type contains control characters'
        WHEN COALESCE(jsonb_typeof(p_created_at), 'null') = 'null'
            THEN 'created_at missing'
        WHEN jsonb_typeof(p_created_at) <> 'string'
            THEN 'created_at is a JSON ' || jsonb_typeof(p_created_at) || ', not a string'
        WHEN p_event_time IS NULL
            THEN 'created_at is not an ISO 8601 date and time'
        WHEN p_event_time < silver.min_event_time() OR p_event_time >= silver.max_event_time()
            THEN 'created_at outside ' || to_char(silver.min_event_time(), 'YYYY-MM-DD') || ' .. '
                 || to_char(silver.max_event_time() - INTERVAL '1 day', 'YYYY-MM-DD')
    END
$$;

-- GH Archive's first hour in the modern format (2015-01-01-0, named in UTC): from here on gold
-- takes modern events only (see the overlap rule in the header).
CREATE OR REPLACE FUNCTION silver.modern_format_start() RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT TIMESTAMP '2015-01-01 00:00:00' $$;

-- A legacy actor's surrogate id: the first 62 bits of md5(lower(login)), negated and moved below
-- the sentinel -1, so it lies in [-(2^62 + 1), -2] (GitHub's ids are positive). Two logins share
-- one with probability about n^2 / 2^63 (under 1 in 10,000 for the ~20 million legacy logins).
-- NULL when there is no usable login (the caller's sentinel -1).
CREATE OR REPLACE FUNCTION silver.legacy_actor_id(p_login TEXT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN btrim(p_login) <> ''
                THEN -2 - (('x' || left(md5(lower(p_login)), 16))::BIT(64)::BIGINT & 4611686018427387903)
           END
$$;

-- Why an actor or repository id is not a GitHub id (silver.github_id() is NULL), as a sentinel
-- reason '<field> <why>: -1'; NULL when it is one. GitHub's ids are positive whole numbers.
CREATE OR REPLACE FUNCTION silver.id_sentinel_reason(p_field TEXT, p_id TEXT) RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN silver.github_id(p_id) IS NOT NULL THEN NULL
                WHEN p_id ~ '^-[0-9]+$' THEN p_field || ' negative, not a GitHub id: -1'
                WHEN p_id ~ '^[0-9]+$' THEN p_field || ' larger than a BIGINT: -1'
                ELSE p_field || ' not a whole number: -1' END
$$;

-- The sentinels of a legacy Timeline event (the modern ones are silver.sentinel_reason()).
-- p_repository_type: jsonb_typeof(repository) (NULL when missing); p_repo_id: repository.id as text.
CREATE OR REPLACE FUNCTION silver.legacy_sentinel_reason(p_type JSONB, p_actor_id TEXT, p_repository_type TEXT,
                                                         p_repo_id TEXT)
RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULLIF(concat_ws('; ',
        CASE WHEN COALESCE(jsonb_typeof(p_type), 'null') = 'null' THEN 'type missing: Unknown'
             WHEN jsonb_typeof(p_type) = 'string' AND btrim(p_type #>> '{}') = '' THEN 'type empty: Unknown' END,
        CASE WHEN p_actor_id IS NULL THEN 'actor login missing: -1' END,
        CASE WHEN COALESCE(p_repository_type, 'null') = 'null' THEN 'repository missing: -1'
             WHEN p_repository_type <> 'object' THEN 'repository not an object: -1'
             WHEN p_repo_id IS NULL THEN 'repository.id missing: -1'
             ELSE silver.id_sentinel_reason('repository.id', p_repo_id) END), '')
$$;

-- Which values of an event that gold takes become sentinels, and why; NULL when none do.
CREATE OR REPLACE FUNCTION silver.sentinel_reason(p_type JSONB, p_actor_id TEXT, p_repo_id TEXT)
RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULLIF(concat_ws('; ',
        CASE WHEN COALESCE(jsonb_typeof(p_type), 'null') = 'null' THEN 'type missing: Unknown'
             WHEN jsonb_typeof(p_type) = 'string' AND btrim(p_type #>> '{}') = '' THEN 'type empty: Unknown' END,
        CASE WHEN p_actor_id IS NULL THEN 'actor.id missing: -1'
             ELSE silver.id_sentinel_reason('actor.id', p_actor_id) END,
        CASE WHEN p_repo_id IS NULL THEN 'repo.id missing: -1'
             ELSE silver.id_sentinel_reason('repo.id', p_repo_id) END), '')
$$;
