-- =============================================================================
-- gold/03_dim_repos.sql — gold.dim_repos, repositories (Type 1 SCD).
--
--   grain:   one row per GitHub repository id; -1 is the 'unknownrepo' sentinel.
--   written: gold ETL (master_gold_etl.sql); repo_owner / repo_project are parsed
--            from the 'owner/project' name; guarded by last_event_time like actors.
--   read:    gold.fact_events (FK), BI queries (Q2 groups by repo_name, repo_owner).
-- Idempotent: CREATE IF NOT EXISTS; sentinel inserted ON CONFLICT DO NOTHING.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS gold.dim_repos (
    repo_id          BIGINT    NOT NULL,
    repo_name        TEXT      NOT NULL,
    repo_owner       TEXT,
    repo_project     TEXT,
    org_login        TEXT,
    updated_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    last_event_time  TIMESTAMP,
    CONSTRAINT pk_dim_repos PRIMARY KEY (repo_id)
);

INSERT INTO gold.dim_repos (repo_id, repo_name, repo_owner, repo_project, org_login, last_event_time)
VALUES (-1, 'unknownrepo', 'unknown', 'unknownrepo', NULL, NULL)
ON CONFLICT (repo_id) DO NOTHING;
