-- =============================================================================
-- gold/05_fact_events.sql — gold.fact_events, the star schema's fact table.
--
--   grain:   one row per GitHub event (event_id), immutable once loaded; event_format tells
--            legacy Timeline events (2011-02-12 .. 2014-12-31) from modern ones.
--   written: gold ETL (master_gold_etl.sql), INSERT ... ON CONFLICT DO NOTHING only.
--   read:    BI (Metabase, psql): the specification's Q1-Q3 and health checks.
--   Every foreign key is enforced; missing members point to the -1 sentinels. The gold run
--   checks its own rows' keys once per run (gold.lock_fact_keys() below) rather than once per
--   row; every other writer gets the row-level checks of the constraints.
--   gold.etl_watermark: one row per gold pipeline, moved by the ETL in the same
--   transaction as the facts it describes.
-- Idempotent: CREATE IF NOT EXISTS.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS gold.fact_events (
    event_id             VARCHAR   NOT NULL,
    date_id              INT       NOT NULL,
    actor_id             BIGINT    NOT NULL,
    repo_id              BIGINT    NOT NULL,
    event_type           TEXT      NOT NULL,
    event_time           TIMESTAMP NOT NULL,
    event_hour           INT       NOT NULL,
    silver_processed_at  TIMESTAMP NOT NULL,
    gold_loaded_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- The shape the event came in: 'modern' (Events API; GH Archive from 2015-01-01) or
    -- 'legacy_timeline' (GH Archive 2011-02-12 .. 2014-12-31: synthetic event_id, actor_id a
    -- surrogate from the login, below -1). Last because 0008_event_format.sql added it.
    event_format         TEXT      NOT NULL DEFAULT 'modern',
    CONSTRAINT pk_fact_events PRIMARY KEY (event_id),
    CONSTRAINT fk_fact_events_date_id    FOREIGN KEY (date_id)    REFERENCES gold.dim_date (date_id),
    CONSTRAINT fk_fact_events_actor_id   FOREIGN KEY (actor_id)   REFERENCES gold.dim_actors (actor_id),
    CONSTRAINT fk_fact_events_repo_id    FOREIGN KEY (repo_id)    REFERENCES gold.dim_repos (repo_id),
    CONSTRAINT fk_fact_events_event_type FOREIGN KEY (event_type) REFERENCES gold.dim_event_types (event_type),
    CONSTRAINT chk_fact_events_event_hour CHECK (event_hour BETWEEN 0 AND 23),
    CONSTRAINT chk_fact_events_event_format CHECK (event_format IN ('modern', 'legacy_timeline'))
);

CREATE INDEX IF NOT EXISTS idx_fact_events_date_id    ON gold.fact_events (date_id);
CREATE INDEX IF NOT EXISTS idx_fact_events_actor_id   ON gold.fact_events (actor_id);
CREATE INDEX IF NOT EXISTS idx_fact_events_repo_id    ON gold.fact_events (repo_id);
CREATE INDEX IF NOT EXISTS idx_fact_events_event_type ON gold.fact_events (event_type);
CREATE INDEX IF NOT EXISTS idx_fact_events_silver_processed_at ON gold.fact_events (silver_processed_at);

-- The gold run's check of its facts' four foreign keys, set-based: for each key, the distinct
-- values of the run's rows (p_events: a table with the fact's key columns) are looked up in
-- their dimension, whose rows are locked FOR KEY SHARE (the lock each row's foreign-key trigger
-- takes, so no other session can delete or re-key them until the run commits); a value with no
-- row fails the run with the error the constraint would raise (SQLSTATE 23503, same text).
-- Why: the row-level triggers cost about 23 µs per fact (4 lookups), more than half of
-- loading fact_events; this is 4 statements per run. master_gold_etl.sql calls it, then
-- inserts with session_replication_role = replica (the row triggers skipped) only when the
-- role may set that (security/roles.sql grants it to gh_etl) and fact_events has no trigger
-- besides its constraints' own; otherwise the rows are checked by the constraints as usual.
-- fact_events' four foreign keys: constraint, key column, dimension (gold.dim_...).
CREATE OR REPLACE FUNCTION gold.fact_event_keys()
RETURNS TABLE (constraint_name NAME, key_column NAME, dimension NAME)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('fk_fact_events_date_id'::NAME,    'date_id'::NAME,    'dim_date'::NAME),
           ('fk_fact_events_actor_id',   'actor_id',   'dim_actors'),
           ('fk_fact_events_repo_id',    'repo_id',    'dim_repos'),
           ('fk_fact_events_event_type', 'event_type', 'dim_event_types')
$$;

-- TRUE when nothing acts on a row inserted into fact_events but the triggers of its four keys: no
-- trigger of a DBA's, no further foreign key, no rule. Only then may the gold run check the keys
-- itself (gold.lock_fact_keys()) and skip the row triggers (master_gold_etl.sql).
CREATE OR REPLACE FUNCTION gold.fact_events_has_only_its_key_checks()
RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM pg_trigger AS t
                         LEFT JOIN pg_constraint AS c ON c.oid = t.tgconstraint
                        WHERE t.tgrelid = 'gold.fact_events'::REGCLASS
                          AND (NOT t.tgisinternal
                               OR c.conrelid IS DISTINCT FROM 'gold.fact_events'::REGCLASS
                               OR c.conname NOT IN (SELECT k.constraint_name FROM gold.fact_event_keys() AS k)))
       AND NOT EXISTS (SELECT 1 FROM pg_rewrite AS r
                        WHERE r.ev_class = 'gold.fact_events'::REGCLASS AND r.rulename <> '_RETURN')
$$;

CREATE OR REPLACE FUNCTION gold.lock_fact_keys(p_events REGCLASS)
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    k        RECORD;
    v_keys   BIGINT;
    v_locked BIGINT;
    v_value  TEXT;
BEGIN
    FOR k IN SELECT * FROM gold.fact_event_keys() LOOP
        EXECUTE format('SELECT COUNT(DISTINCT %1$I) FROM %2$s', k.key_column, p_events) INTO v_keys;
        EXECUTE format('SELECT COUNT(*) FROM (SELECT 1 FROM gold.%1$I AS d
                         WHERE d.%2$I IN (SELECT e.%2$I FROM %3$s AS e)
                           FOR KEY SHARE OF d) AS locked',
                       k.dimension, k.key_column, p_events) INTO v_locked;
        IF v_locked < v_keys THEN
            EXECUTE format('SELECT e.%2$I::TEXT FROM %3$s AS e
                             WHERE NOT EXISTS (SELECT 1 FROM gold.%1$I AS d WHERE d.%2$I = e.%2$I)
                             ORDER BY 1 LIMIT 1',
                           k.dimension, k.key_column, p_events) INTO v_value;
            RAISE EXCEPTION 'insert or update on table "fact_events" violates foreign key constraint "%"',
                  k.constraint_name
                  USING ERRCODE = 'foreign_key_violation',
                        DETAIL = format('Key (%s)=(%s) is not present in table "%s".', k.key_column,
                                        COALESCE(v_value, 'NULL'), k.dimension),
                        SCHEMA = 'gold', TABLE = 'fact_events', CONSTRAINT = k.constraint_name;
        END IF;
    END LOOP;
END;
$$;

CREATE TABLE IF NOT EXISTS gold.etl_watermark (
    pipeline     TEXT        NOT NULL,
    last_xid     XID8        NOT NULL DEFAULT '0'::xid8,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_gold_etl_watermark PRIMARY KEY (pipeline)
);

INSERT INTO gold.etl_watermark (pipeline) VALUES ('gold.fact_events')
ON CONFLICT (pipeline) DO NOTHING;
