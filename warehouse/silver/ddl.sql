-- =============================================================================
-- silver/ddl.sql — the clean layer: one typed, flattened row per bronze event.
--
-- silver.events
--   grain:   one row per GitHub event id (same ids as bronze.raw_events).
--   written: silver.load_batch(), called in batches by ingestion/src/process_silver.py.
--   read:    silver.v_events (and through it the gold ETL); analysts may query it.
--   Ids are kept as the text GitHub sent; silver.v_events does the safe BIGINT cast,
--   so a malformed id is visible here rather than lost in a failed cast.
--   processed_xid is the silver transaction that wrote the row: the gold ETL reads
--   new rows by processed_xid, not by processed_at, because a timestamp is taken
--   before its transaction commits and a watermark on it can skip late commits.
--
-- silver.etl_watermark
--   grain:   one row per consumer of bronze (today: 'silver.events').
--   written: silver.load_batch(), in the same transaction as the rows it describes.
-- Idempotent: safe to run any number of times.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS silver;

CREATE TABLE IF NOT EXISTS silver.events (
    event_id            TEXT        NOT NULL,
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
    CONSTRAINT pk_silver_events PRIMARY KEY (event_id)
);

-- Gold's incremental read: processed_xid in [watermark, snapshot xmin).
CREATE INDEX IF NOT EXISTS idx_silver_events_processed_xid ON silver.events (processed_xid);
CREATE INDEX IF NOT EXISTS idx_silver_events_event_time    ON silver.events (event_time);
CREATE INDEX IF NOT EXISTS idx_silver_events_event_type    ON silver.events (event_type);
CREATE INDEX IF NOT EXISTS idx_silver_events_processed_at  ON silver.events (processed_at);

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
