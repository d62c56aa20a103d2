-- =============================================================================
-- gold/04_dim_event_types.sql — gold.dim_event_types, the event taxonomy.
--
--   grain:   one row per GitHub event type name (e.g. 'PushEvent').
--   written: seeded here with the public event types GitHub documents today (curated);
--            the gold ETL auto-discovers any other type as is_curated = FALSE, with
--            discovered_at, so a new GitHub type never fails the load (query Q4 lists them).
--            'Unknown' is the sentinel for events that carried no type at all (missing, null
--            or blank; silver.events.sentinel_reason records it, gold.v_pipeline_health counts
--            such facts); a type that is not a usable name is rejected in silver instead.
--   read:    gold.fact_events (FK), BI queries, health checks.
-- Idempotent: seed rows ON CONFLICT DO NOTHING, so a curator's edits survive re-runs.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS gold.dim_event_types (
    event_type       TEXT        NOT NULL,
    event_category   TEXT        NOT NULL,
    is_core_metric   BOOLEAN     NOT NULL DEFAULT FALSE,
    is_curated       BOOLEAN     NOT NULL DEFAULT FALSE,
    discovered_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_dim_event_types PRIMARY KEY (event_type)
);

INSERT INTO gold.dim_event_types (event_type, event_category, is_core_metric, is_curated)
VALUES
    ('PushEvent',                     'Code',          TRUE,  TRUE),
    ('CreateEvent',                   'Code',          FALSE, TRUE),
    ('DeleteEvent',                   'Code',          FALSE, TRUE),
    ('CommitCommentEvent',            'Code Review',   FALSE, TRUE),
    ('PullRequestEvent',              'Code Review',   TRUE,  TRUE),
    ('PullRequestReviewEvent',        'Code Review',   TRUE,  TRUE),
    ('PullRequestReviewCommentEvent', 'Code Review',   FALSE, TRUE),
    ('IssuesEvent',                   'Issues',        TRUE,  TRUE),
    ('IssueCommentEvent',             'Issues',        FALSE, TRUE),
    ('DiscussionEvent',               'Community',     FALSE, TRUE),
    ('WatchEvent',                    'Community',     TRUE,  TRUE),
    ('ForkEvent',                     'Community',     TRUE,  TRUE),
    ('GollumEvent',                   'Documentation', FALSE, TRUE),
    ('MemberEvent',                   'Administration',FALSE, TRUE),
    ('PublicEvent',                   'Administration',FALSE, TRUE),
    ('ReleaseEvent',                  'Release',       TRUE,  TRUE),
    ('Unknown',                       'Unknown',       FALSE, TRUE)
ON CONFLICT (event_type) DO NOTHING;
