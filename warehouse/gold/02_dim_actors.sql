-- =============================================================================
-- gold/02_dim_actors.sql — gold.dim_actors, GitHub users (Type 1 SCD).
--
--   grain:   one row per GitHub actor id; -1 is the 'unknownuser' sentinel that
--            facts point to when the actor id was missing or malformed.
--   written: gold ETL (master_gold_etl.sql): upsert guarded by last_event_time, so a
--            late-arriving older event never overwrites a newer login.
--   read:    gold.fact_events (FK), BI queries.
-- Idempotent: CREATE IF NOT EXISTS; sentinel inserted ON CONFLICT DO NOTHING.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS gold.dim_actors (
    actor_id         BIGINT    NOT NULL,
    actor_login      TEXT      NOT NULL,
    updated_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- event_time of the event the current attributes came from; NULL for the sentinel,
    -- which the guarded upsert therefore never updates.
    last_event_time  TIMESTAMP,
    CONSTRAINT pk_dim_actors PRIMARY KEY (actor_id)
);

INSERT INTO gold.dim_actors (actor_id, actor_login, last_event_time)
VALUES (-1, 'unknownuser', NULL)
ON CONFLICT (actor_id) DO NOTHING;
