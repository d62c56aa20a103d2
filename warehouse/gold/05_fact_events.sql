-- =============================================================================
-- gold/05_fact_events.sql — gold.fact_events, the star schema's fact table.
--
--   grain:   one row per GitHub event (event_id), immutable once loaded; event_format tells
--            legacy Timeline events (2011-02-12 .. 2014-12-31) from modern ones.
--   written: gold ETL (master_gold_etl.sql), INSERT ... ON CONFLICT DO NOTHING only.
--   read:    BI (Metabase, psql): the specification's Q1-Q3 and health checks.
--   Every foreign key is enforced; missing members point to the -1 sentinels.
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

CREATE TABLE IF NOT EXISTS gold.etl_watermark (
    pipeline     TEXT        NOT NULL,
    last_xid     XID8        NOT NULL DEFAULT '0'::xid8,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_gold_etl_watermark PRIMARY KEY (pipeline)
);

INSERT INTO gold.etl_watermark (pipeline) VALUES ('gold.fact_events')
ON CONFLICT (pipeline) DO NOTHING;
