-- =============================================================================
-- gold/08_payload_facts.sql — what happened in an event: one fact table per GitHub process,
-- Kimball style, beside the specification's gold.fact_events (which stays as it is).
--
-- Every fact below is keyed by event_id (a degenerate key: the gold.fact_events row of the
-- same event) and carries that row's conformed dimension keys (date_id, actor_id, repo_id; -1
-- sentinels as in fact_events) and event_time, then the process's own attributes.
-- Referential integrity: fact_events enforces its foreign keys to the four dimensions (as the
-- specification asks). The detail facts copy event_id and the keys from the fact_events row
-- inserted in the same gold transaction (gold_new_events), so their keys hold by construction;
-- they declare no foreign keys, because PostgreSQL checks a foreign key row by row (a trigger
-- per key per row): on 100,000 events the four checks per detail row took 2.9 s of the payload
-- load's 5.0 s. tests/test_questions.py checks that every detail row has its fact_events row
-- with the same keys, and migration 0013 dropped the constraints an earlier release created.
-- A detail the payload did not carry is NULL (unknown), never 0; silver/payloads.sql says how
-- each is read.
--
-- gold.fact_stars                 grain: one row per star (WatchEvent with action 'started').
-- gold.fact_forks                 grain: one row per fork (ForkEvent); the new repository.
-- gold.fact_pull_request_events   grain: one row per pull request action (PullRequestEvent).
-- gold.fact_pull_request_reviews  grain: one row per review (PullRequestReviewEvent).
-- gold.fact_issue_events          grain: one row per issue action (IssuesEvent).
-- gold.fact_comments              grain: one row per comment event (IssueCommentEvent,
--                                 PullRequestReviewCommentEvent, CommitCommentEvent).
-- gold.fact_pushes                grain: one row per push (PushEvent).
-- gold.fact_releases              grain: one row per release event (ReleaseEvent).
-- gold.fact_refs                  grain: one row per branch/tag/repository created or deleted
--                                 (CreateEvent, DeleteEvent).
-- gold.fact_members               grain: one row per MemberEvent (a collaborator added).
-- gold.fact_wiki_edits            grain: one row per GollumEvent (wiki pages created or edited).
-- gold.agg_repo_daily_activity    grain: one row per (day, repository) with any of the above:
--                                 the dashboards' per-repository counts, kept exact.
-- gold.v_pull_requests            grain: one row per pull request (repository, number) seen in
--                                 the loaded history: its lifecycle (opened, merged, closed,
--                                 reopened) and its state now (last_action, is_open).
--
--   written: the gold ETL (master_gold_etl.sql calls gold.load_payload_facts() in its one
--            transaction, after fact_events, under the same watermark); migration 0011 fills
--            them once from the facts a warehouse held before they existed (0012 fills
--            fact_members and fact_wiki_edits, added after it).
--   read:    the question suite (warehouse/queries/questions/), Metabase, report.py --repo.
-- Idempotent: CREATE IF NOT EXISTS / CREATE OR REPLACE; loads are ON CONFLICT DO NOTHING, and
-- the aggregate grows only by facts a run really inserted, so reruns and replays change nothing.
--
-- PublicEvent (a repository made public) has no payload detail to keep: it has no fact here,
-- and questions read it from gold.fact_events (event_type 'PublicEvent').
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS gold.fact_stars (
    event_id    VARCHAR   NOT NULL,
    date_id     INT       NOT NULL,
    actor_id    BIGINT    NOT NULL,
    repo_id     BIGINT    NOT NULL,
    event_time  TIMESTAMP NOT NULL,
    CONSTRAINT pk_fact_stars PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_stars_repo_id_date_id ON gold.fact_stars (repo_id, date_id);
CREATE INDEX IF NOT EXISTS idx_fact_stars_actor_id ON gold.fact_stars (actor_id);

CREATE TABLE IF NOT EXISTS gold.fact_forks (
    event_id        VARCHAR   NOT NULL,
    date_id         INT       NOT NULL,
    actor_id        BIGINT    NOT NULL,
    repo_id         BIGINT    NOT NULL,
    event_time      TIMESTAMP NOT NULL,
    -- The fork itself: not a dim_repos member until it has events of its own.
    fork_repo_id    BIGINT,
    fork_repo_name  TEXT,
    CONSTRAINT pk_fact_forks PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_forks_repo_id_date_id ON gold.fact_forks (repo_id, date_id);

CREATE TABLE IF NOT EXISTS gold.fact_pull_request_events (
    event_id          VARCHAR   NOT NULL,
    date_id           INT       NOT NULL,
    actor_id          BIGINT    NOT NULL,
    repo_id           BIGINT    NOT NULL,
    event_time        TIMESTAMP NOT NULL,
    pr_number         INT,
    action            TEXT,
    -- NULL when the payload does not say (trimmed pull request objects after 2025-10-07).
    is_merged         BOOLEAN,
    additions         INT,
    deletions         INT,
    changed_files     INT,
    commits           INT,
    pr_created_at     TIMESTAMP,
    pr_closed_at      TIMESTAMP,
    pr_merged_at      TIMESTAMP,
    title             TEXT,
    CONSTRAINT pk_fact_pull_request_events PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_pull_request_events_repo_id_pr_number
    ON gold.fact_pull_request_events (repo_id, pr_number);
CREATE INDEX IF NOT EXISTS idx_fact_pull_request_events_date_id ON gold.fact_pull_request_events (date_id);

CREATE TABLE IF NOT EXISTS gold.fact_pull_request_reviews (
    event_id      VARCHAR   NOT NULL,
    date_id       INT       NOT NULL,
    actor_id      BIGINT    NOT NULL,
    repo_id       BIGINT    NOT NULL,
    event_time    TIMESTAMP NOT NULL,
    pr_number     INT,
    action        TEXT,
    review_state  TEXT,
    CONSTRAINT pk_fact_pull_request_reviews PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_pull_request_reviews_repo_id ON gold.fact_pull_request_reviews (repo_id);

CREATE TABLE IF NOT EXISTS gold.fact_issue_events (
    event_id       VARCHAR   NOT NULL,
    date_id        INT       NOT NULL,
    actor_id       BIGINT    NOT NULL,
    repo_id        BIGINT    NOT NULL,
    event_time     TIMESTAMP NOT NULL,
    issue_number   INT,
    action         TEXT,
    title          TEXT,
    labels         TEXT[],
    -- The issue's comment count when the event was sent.
    comments       INT,
    CONSTRAINT pk_fact_issue_events PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_issue_events_repo_id_issue_number ON gold.fact_issue_events (repo_id, issue_number);

CREATE TABLE IF NOT EXISTS gold.fact_comments (
    event_id         VARCHAR   NOT NULL,
    date_id          INT       NOT NULL,
    actor_id         BIGINT    NOT NULL,
    repo_id          BIGINT    NOT NULL,
    event_time       TIMESTAMP NOT NULL,
    -- issue, pull_request (an issue comment on a pull request's conversation: its issue's
    -- pull_request object links to one, silver.is_pull_request_item), review, commit.
    comment_kind     TEXT      NOT NULL,
    item_number      INT,
    -- The issue's comment count when the event was sent (IssueCommentEvent only).
    item_comments    INT,
    commit_sha       TEXT,
    action           TEXT,
    CONSTRAINT pk_fact_comments PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_comments_repo_id_item_number ON gold.fact_comments (repo_id, item_number);

CREATE TABLE IF NOT EXISTS gold.fact_pushes (
    event_id        VARCHAR   NOT NULL,
    date_id         INT       NOT NULL,
    actor_id        BIGINT    NOT NULL,
    repo_id         BIGINT    NOT NULL,
    event_time      TIMESTAMP NOT NULL,
    ref             TEXT,
    -- ref without 'refs/heads/' (NULL for a tag push).
    branch          TEXT,
    -- Commits in the push; NULL when the payload does not say (API after 2025-10-07).
    push_size       INT,
    distinct_size   INT,
    head_sha        TEXT,
    CONSTRAINT pk_fact_pushes PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_pushes_repo_id_date_id ON gold.fact_pushes (repo_id, date_id);
CREATE INDEX IF NOT EXISTS idx_fact_pushes_actor_id ON gold.fact_pushes (actor_id);

CREATE TABLE IF NOT EXISTS gold.fact_releases (
    event_id        VARCHAR   NOT NULL,
    date_id         INT       NOT NULL,
    actor_id        BIGINT    NOT NULL,
    repo_id         BIGINT    NOT NULL,
    event_time      TIMESTAMP NOT NULL,
    action          TEXT,
    release_tag     TEXT,
    release_name    TEXT,
    is_prerelease   BOOLEAN,
    CONSTRAINT pk_fact_releases PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_releases_repo_id ON gold.fact_releases (repo_id);

CREATE TABLE IF NOT EXISTS gold.fact_refs (
    event_id     VARCHAR   NOT NULL,
    date_id      INT       NOT NULL,
    actor_id     BIGINT    NOT NULL,
    repo_id      BIGINT    NOT NULL,
    event_time   TIMESTAMP NOT NULL,
    is_created   BOOLEAN   NOT NULL,
    -- branch, tag or repository (CreateEvent only).
    ref_type     TEXT,
    ref          TEXT,
    CONSTRAINT pk_fact_refs PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_refs_repo_id ON gold.fact_refs (repo_id);

CREATE TABLE IF NOT EXISTS gold.fact_members (
    event_id      VARCHAR   NOT NULL,
    date_id       INT       NOT NULL,
    actor_id      BIGINT    NOT NULL,
    repo_id       BIGINT    NOT NULL,
    event_time    TIMESTAMP NOT NULL,
    -- added (the Events API's only action); NULL when the payload does not say.
    action        TEXT,
    -- The collaborator: a GitHub login, not a dim_actors member (the event's actor is who added them).
    member_login  TEXT,
    CONSTRAINT pk_fact_members PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_members_repo_id ON gold.fact_members (repo_id);

CREATE TABLE IF NOT EXISTS gold.fact_wiki_edits (
    event_id      VARCHAR   NOT NULL,
    date_id       INT       NOT NULL,
    actor_id      BIGINT    NOT NULL,
    repo_id       BIGINT    NOT NULL,
    event_time    TIMESTAMP NOT NULL,
    -- Wiki pages created or edited in the event (the page objects in payload.pages); NULL when
    -- the payload has no pages array.
    pages_count   INT,
    CONSTRAINT pk_fact_wiki_edits PRIMARY KEY (event_id)
);
CREATE INDEX IF NOT EXISTS idx_fact_wiki_edits_repo_id_date_id ON gold.fact_wiki_edits (repo_id, date_id);

-- Counts per repository and day, summed by the dashboards over any range. Every measure is a
-- plain count or sum of facts (each fact folded in once), so it can grow by addition.
-- commits sums push_size over the pushes that carry it; pushes_with_size says how many did,
-- so a figure is partial when pushes_with_size < pushes.
CREATE TABLE IF NOT EXISTS gold.agg_repo_daily_activity (
    date_id            INT    NOT NULL,
    repo_id            BIGINT NOT NULL,
    stars              BIGINT NOT NULL DEFAULT 0,
    forks              BIGINT NOT NULL DEFAULT 0,
    prs_opened         BIGINT NOT NULL DEFAULT 0,
    prs_merged         BIGINT NOT NULL DEFAULT 0,
    prs_closed         BIGINT NOT NULL DEFAULT 0,
    issues_opened      BIGINT NOT NULL DEFAULT 0,
    issues_closed      BIGINT NOT NULL DEFAULT 0,
    pushes             BIGINT NOT NULL DEFAULT 0,
    pushes_with_size   BIGINT NOT NULL DEFAULT 0,
    commits            BIGINT NOT NULL DEFAULT 0,
    releases           BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT pk_agg_repo_daily_activity PRIMARY KEY (repo_id, date_id),
    CONSTRAINT fk_agg_repo_daily_activity_date_id FOREIGN KEY (date_id) REFERENCES gold.dim_date (date_id),
    CONSTRAINT fk_agg_repo_daily_activity_repo_id FOREIGN KEY (repo_id) REFERENCES gold.dim_repos (repo_id)
);
CREATE INDEX IF NOT EXISTS idx_agg_repo_daily_activity_date_id ON gold.agg_repo_daily_activity (date_id);

-- The counting rules of the question suite, in one place (README "Questions").
--   A release counts when action is 'published', or for a payload without an action.
--   A pull request is merged when it is closed with merged = true.

-- Loads every detail fact for the events in the session's temp table gold_new_events (this
-- gold run's silver.v_events rows), joined to their silver.event_payloads rows, then folds the
-- facts it really inserted into gold.agg_repo_daily_activity. Set-based: one INSERT per fact.
-- Returns the number of detail fact rows inserted. A fact that feeds the aggregate writes its
-- measures from a second data-modifying CTE (det): PostgreSQL runs every one of them whether or
-- not the final SELECT reads it, and that SELECT counts the fact rows (ins), not the measures.
CREATE OR REPLACE FUNCTION gold.load_payload_facts()
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    -- Detail fact rows inserted (the gold log's "payload facts: N rows"); the aggregate's rows
    -- are not counted.
    v_rows  BIGINT := 0;
BEGIN
    -- Working tables of this call (dropped at commit; a second call in one transaction, as a
    -- migration's backfill may make, starts them afresh).
    IF to_regclass('pg_temp.gold_new_details') IS NOT NULL THEN
        DROP TABLE pg_temp.gold_new_details, pg_temp.gold_new_payloads;
    END IF;
    CREATE TEMP TABLE gold_new_details (
        date_id INT, repo_id BIGINT, measure TEXT, amount BIGINT
    ) ON COMMIT DROP;

    CREATE TEMP TABLE gold_new_payloads ON COMMIT DROP AS
    SELECT n.date_id, n.actor_id, n.repo_id, n.event_time, p.*
      FROM gold_new_events AS n
      JOIN silver.event_payloads AS p ON p.event_id = n.event_id;
    -- No ANALYZE: every statement below reads it with one scan and a filter on event_type.

    WITH ins AS (
        INSERT INTO gold.fact_stars (event_id, date_id, actor_id, repo_id, event_time)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'WatchEvent' AND n.action = 'started'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING date_id, repo_id
    ),
    det AS (INSERT INTO gold_new_details SELECT date_id, repo_id, 'stars', COUNT(*) FROM ins GROUP BY date_id, repo_id)
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_forks (event_id, date_id, actor_id, repo_id, event_time, fork_repo_id, fork_repo_name)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.fork_repo_id, n.fork_repo_name
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'ForkEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING date_id, repo_id
    ),
    det AS (INSERT INTO gold_new_details SELECT date_id, repo_id, 'forks', COUNT(*) FROM ins GROUP BY date_id, repo_id)
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_pull_request_events (
            event_id, date_id, actor_id, repo_id, event_time, pr_number, action, is_merged, additions,
            deletions, changed_files, commits, pr_created_at, pr_closed_at, pr_merged_at, title)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.item_number, n.action,
               n.is_merged, n.additions, n.deletions, n.changed_files, n.commits, n.item_created_at,
               n.item_closed_at, n.item_merged_at, n.item_title
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'PullRequestEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING date_id, repo_id, action, is_merged
    ),
    det AS (
        -- Summed per repository and day here: the fold below reads a few rows per pair.
        INSERT INTO gold_new_details
        SELECT date_id, repo_id, measure, SUM(amount)
          FROM (
            SELECT date_id, repo_id, m.measure, 1
              FROM ins
             CROSS JOIN LATERAL (VALUES
                (CASE WHEN action = 'opened' THEN 'prs_opened' END),
                (CASE WHEN action = 'closed' THEN 'prs_closed' END),
                (CASE WHEN action = 'closed' AND is_merged THEN 'prs_merged' END)) AS m (measure)
             WHERE m.measure IS NOT NULL
          ) AS d (date_id, repo_id, measure, amount)
         GROUP BY date_id, repo_id, measure
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_pull_request_reviews (
            event_id, date_id, actor_id, repo_id, event_time, pr_number, action, review_state)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.item_number, n.action, n.review_state
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'PullRequestReviewEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_issue_events (
            event_id, date_id, actor_id, repo_id, event_time, issue_number, action, title, labels, comments)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.item_number, n.action,
               n.item_title, n.item_labels, n.item_comments
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'IssuesEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING date_id, repo_id, action
    ),
    det AS (
        -- Summed per repository and day here: the fold below reads a few rows per pair.
        INSERT INTO gold_new_details
        SELECT date_id, repo_id, measure, SUM(amount)
          FROM (
            SELECT date_id, repo_id, CASE action WHEN 'opened' THEN 'issues_opened' ELSE 'issues_closed' END, 1
              FROM ins
             WHERE action IN ('opened', 'closed')
          ) AS d (date_id, repo_id, measure, amount)
         GROUP BY date_id, repo_id, measure
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_comments (
            event_id, date_id, actor_id, repo_id, event_time, comment_kind, item_number, item_comments,
            commit_sha, action)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time,
               CASE n.event_type
                    WHEN 'IssueCommentEvent' THEN CASE WHEN n.is_pull_request THEN 'pull_request' ELSE 'issue' END
                    WHEN 'PullRequestReviewCommentEvent' THEN 'review'
                    ELSE 'commit' END,
               n.item_number, n.item_comments, n.commit_sha, n.action
          FROM gold_new_payloads AS n
         WHERE n.event_type IN ('IssueCommentEvent', 'PullRequestReviewCommentEvent', 'CommitCommentEvent')
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_pushes (
            event_id, date_id, actor_id, repo_id, event_time, ref, branch, push_size, distinct_size, head_sha)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.ref,
               CASE WHEN n.ref LIKE 'refs/heads/%' THEN substr(n.ref, length('refs/heads/') + 1) END,
               n.push_size, n.push_distinct_size, n.head_sha
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'PushEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING date_id, repo_id, push_size
    ),
    det AS (
        -- Summed per repository and day here: the fold below reads a few rows per pair.
        INSERT INTO gold_new_details
        SELECT date_id, repo_id, measure, SUM(amount)
          FROM (
            SELECT date_id, repo_id, m.measure, m.amount
              FROM ins
             CROSS JOIN LATERAL (VALUES
                ('pushes', 1::BIGINT),
                (CASE WHEN push_size IS NOT NULL THEN 'pushes_with_size' END, 1::BIGINT),
                (CASE WHEN push_size IS NOT NULL THEN 'commits' END, push_size::BIGINT)) AS m (measure, amount)
             WHERE m.measure IS NOT NULL
          ) AS d (date_id, repo_id, measure, amount)
         GROUP BY date_id, repo_id, measure
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_releases (
            event_id, date_id, actor_id, repo_id, event_time, action, release_tag, release_name, is_prerelease)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.action, n.release_tag,
               n.release_name, n.is_prerelease
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'ReleaseEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING date_id, repo_id, action
    ),
    det AS (
        -- Summed per repository and day here: the fold below reads a few rows per pair.
        INSERT INTO gold_new_details
        SELECT date_id, repo_id, measure, SUM(amount)
          FROM (
            SELECT date_id, repo_id, 'releases', 1 FROM ins WHERE action IS NULL OR action = 'published'
          ) AS d (date_id, repo_id, measure, amount)
         GROUP BY date_id, repo_id, measure
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_refs (event_id, date_id, actor_id, repo_id, event_time, is_created, ref_type, ref)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.event_type = 'CreateEvent',
               n.ref_type, n.ref
          FROM gold_new_payloads AS n
         WHERE n.event_type IN ('CreateEvent', 'DeleteEvent')
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_members (event_id, date_id, actor_id, repo_id, event_time, action, member_login)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.action, n.member_login
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'MemberEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    WITH ins AS (
        INSERT INTO gold.fact_wiki_edits (event_id, date_id, actor_id, repo_id, event_time, pages_count)
        SELECT n.event_id, n.date_id, n.actor_id, n.repo_id, n.event_time, n.pages_count
          FROM gold_new_payloads AS n
         WHERE n.event_type = 'GollumEvent'
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    )
    SELECT v_rows + COUNT(*) INTO v_rows FROM ins;

    INSERT INTO gold.agg_repo_daily_activity AS a (
        date_id, repo_id, stars, forks, prs_opened, prs_merged, prs_closed, issues_opened, issues_closed,
        pushes, pushes_with_size, commits, releases)
    SELECT d.date_id, d.repo_id,
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'stars'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'forks'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'prs_opened'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'prs_merged'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'prs_closed'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'issues_opened'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'issues_closed'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'pushes'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'pushes_with_size'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'commits'), 0),
           COALESCE(SUM(d.amount) FILTER (WHERE d.measure = 'releases'), 0)
      FROM gold_new_details AS d
     GROUP BY d.date_id, d.repo_id
    ON CONFLICT (repo_id, date_id) DO UPDATE
       SET stars            = a.stars            + EXCLUDED.stars,
           forks            = a.forks            + EXCLUDED.forks,
           prs_opened       = a.prs_opened       + EXCLUDED.prs_opened,
           prs_merged       = a.prs_merged       + EXCLUDED.prs_merged,
           prs_closed       = a.prs_closed       + EXCLUDED.prs_closed,
           issues_opened    = a.issues_opened    + EXCLUDED.issues_opened,
           issues_closed    = a.issues_closed    + EXCLUDED.issues_closed,
           pushes           = a.pushes           + EXCLUDED.pushes,
           pushes_with_size = a.pushes_with_size + EXCLUDED.pushes_with_size,
           commits          = a.commits          + EXCLUDED.commits,
           releases         = a.releases         + EXCLUDED.releases;

    RETURN v_rows;
END;
$$;

-- Recomputes gold.agg_repo_daily_activity from the payload facts (after a repair, or a bulk
-- fill such as bench/bench_queries.py). Same counting rules as gold.load_payload_facts().
-- Takes the gold watermark's row lock, so it never interleaves with a gold run.
CREATE OR REPLACE FUNCTION gold.rebuild_repo_daily_activity()
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_rows BIGINT;
BEGIN
    PERFORM 1 FROM gold.etl_watermark WHERE pipeline = 'gold.fact_events' FOR UPDATE;
    TRUNCATE gold.agg_repo_daily_activity;
    WITH measures AS (
        SELECT date_id, repo_id, 1 AS stars, 0 AS forks, 0 AS prs_opened, 0 AS prs_merged, 0 AS prs_closed,
               0 AS issues_opened, 0 AS issues_closed, 0 AS pushes, 0 AS pushes_with_size, 0 AS commits, 0 AS releases
          FROM gold.fact_stars
        UNION ALL
        SELECT date_id, repo_id, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM gold.fact_forks
        UNION ALL
        SELECT date_id, repo_id, 0, 0, (action = 'opened')::INT, (action = 'closed' AND is_merged IS TRUE)::INT,
               (action = 'closed')::INT, 0, 0, 0, 0, 0, 0
          FROM gold.fact_pull_request_events WHERE action IN ('opened', 'closed')
        UNION ALL
        SELECT date_id, repo_id, 0, 0, 0, 0, 0, (action = 'opened')::INT, (action = 'closed')::INT, 0, 0, 0, 0
          FROM gold.fact_issue_events WHERE action IN ('opened', 'closed')
        UNION ALL
        SELECT date_id, repo_id, 0, 0, 0, 0, 0, 0, 0, 1, (push_size IS NOT NULL)::INT, COALESCE(push_size, 0), 0
          FROM gold.fact_pushes
        UNION ALL
        SELECT date_id, repo_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
          FROM gold.fact_releases WHERE action IS NULL OR action = 'published'
    )
    INSERT INTO gold.agg_repo_daily_activity (
        date_id, repo_id, stars, forks, prs_opened, prs_merged, prs_closed, issues_opened, issues_closed,
        pushes, pushes_with_size, commits, releases)
    SELECT date_id, repo_id, SUM(stars), SUM(forks), SUM(prs_opened), SUM(prs_merged), SUM(prs_closed),
           SUM(issues_opened), SUM(issues_closed), SUM(pushes), SUM(pushes_with_size), SUM(commits), SUM(releases)
      FROM measures
     GROUP BY date_id, repo_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END;
$$;

-- A pull request's lifecycle within the loaded history. opened_at: the first 'opened' event, else
-- the payload's created_at; merged_at / closed_at: the first merged / closed event (or the
-- payload's times), kept when the pull request is reopened: time to merge counts from the first
-- opening. NULL where the loaded history has not seen it: "not yet, as far as we know".
-- The state now: last_action is the latest opened / reopened / closed event (by event_time, then
-- GitHub's event id as a number, since two can share a second), NULL when none is loaded;
-- is_open is last_action opened or reopened, else (no such event loaded) "a known opening and no
-- known close", the rule of questions/open_pull_requests.sql at any day.
-- Columns after events were added later: CREATE OR REPLACE VIEW only appends columns.
CREATE OR REPLACE VIEW gold.v_pull_requests AS
WITH pull_requests AS (
    SELECT
        f.repo_id,
        f.pr_number,
        COALESCE(MIN(f.event_time) FILTER (WHERE f.action = 'opened'), MIN(f.pr_created_at))  AS opened_at,
        COALESCE(MIN(f.event_time) FILTER (WHERE f.action = 'closed' AND f.is_merged), MIN(f.pr_merged_at)) AS merged_at,
        COALESCE(MIN(f.event_time) FILTER (WHERE f.action = 'closed'), MIN(f.pr_closed_at))   AS closed_at,
        BOOL_OR(f.is_merged)                                                                  AS is_merged,
        MAX(f.additions)                                                                      AS additions,
        MAX(f.deletions)                                                                      AS deletions,
        COUNT(*)                                                                              AS events,
        (ARRAY_AGG(f.action ORDER BY f.event_time DESC, length(f.event_id) DESC, f.event_id DESC)
            FILTER (WHERE f.action IN ('opened', 'reopened', 'closed')))[1]                   AS last_action,
        MAX(f.event_time) FILTER (WHERE f.action IN ('opened', 'reopened', 'closed'))         AS last_action_at,
        COUNT(*) FILTER (WHERE f.action = 'reopened')                                         AS reopened_count
    FROM gold.fact_pull_request_events AS f
    WHERE f.pr_number IS NOT NULL
    GROUP BY f.repo_id, f.pr_number
)
SELECT
    p.repo_id,
    p.pr_number,
    p.opened_at,
    p.merged_at,
    p.closed_at,
    p.is_merged,
    p.additions,
    p.deletions,
    p.events,
    p.last_action,
    p.last_action_at,
    p.reopened_count,
    CASE WHEN p.last_action IS NOT NULL THEN p.last_action <> 'closed'
         ELSE p.opened_at IS NOT NULL AND p.closed_at IS NULL END                             AS is_open
FROM pull_requests AS p;

-- Payload details that were present with the wrong type (NULL in the facts): health.py's
-- "silver: malformed payload details" check. A probe of silver's small partial index, so it
-- stays cheap for a 30 s healthcheck; a view owned by the warehouse owner, so the BI and ETL
-- roles read the count without any right on silver.
CREATE OR REPLACE VIEW gold.v_payload_health AS
SELECT
    (SELECT COUNT(*) FROM silver.event_payloads WHERE malformed_fields IS NOT NULL) AS malformed_payload_events,
    (SELECT MAX(processed_at) FROM silver.event_payloads WHERE malformed_fields IS NOT NULL) AS malformed_newest_at;
