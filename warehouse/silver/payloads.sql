-- =============================================================================
-- silver/payloads.sql — silver.event_payloads: what happened in an event, as typed columns.
--
--   grain:   one row per silver event (event_id) whose type carries a payload this warehouse
--            reads (the types in silver.payload_event_types()); other types get no row.
--   written: silver.load_payload_details(), called by silver.load_batch() in the same
--            transaction as the silver.events rows, from the same batch of bronze rows
--            (so payload and event move together and a replay is a no-op: ON CONFLICT).
--            Migration 0011 fills it once for events silver held before this table existed;
--            0012 reads the legacy Timeline rows again under the legacy shapes' rules below.
--   read:    the gold ETL (gold.load_payload_facts(), joined to the run's silver.v_events
--            rows), gold.v_payload_health (malformed count); analysts may query it.
--
-- Why one wide table and not one table per type: every type needs the same handful of shapes
-- (action, a number, a ref, a few counts and times), the reference dataset (ClickHouse's
-- github_events) is one wide table too, and one INSERT ... SELECT per batch keeps the silver
-- load to a single extra statement. Columns a type does not use stay NULL (a sparse row costs
-- a few bytes of null bitmap). Gold splits it into one fact per business process.
--
-- Why its own file and function: silver.events' core columns (ids, actor, repo, time) follow
-- the event rules of silver/ddl.sql, which change with the eras of GitHub's payloads; what a
-- payload means is a separate concern, read here only.
--
-- Reading rules (payload shapes differ by era and source, e.g. the API after 2025-10-07 sends
-- PushEvent without size/distinct_size/commits and trims pull_request objects, and the legacy
-- Timeline before 2015 keeps some details elsewhere: README "What happened in each event"):
--   * a field the payload does not carry (absent or JSON null) is NULL: unknown, never 0;
--   * a field of the wrong JSON type (a number that is a string, `merged` a string, a count
--     that is fractional, negative or beyond INT, `pages` not an array of page objects) is NULL
--     too (or, for pages, left out of the count), and for the fields that decide a count or a
--     figure (the list in silver.load_payload_details()) its name is listed in malformed_fields,
--     so gold.v_payload_health can count such events. Nothing here can fail the batch: every
--     cast is guarded by a type check first.
-- Idempotent: CREATE IF NOT EXISTS / CREATE OR REPLACE.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS silver;

CREATE TABLE IF NOT EXISTS silver.event_payloads (
    event_id              TEXT      NOT NULL,
    event_type            TEXT      NOT NULL,
    -- payload.action (opened, closed, started, published, created, ...).
    action                TEXT,
    -- The pull request's or issue's number in its repository.
    item_number           INT,
    -- Pull requests (PullRequestEvent; number only for reviews and review comments).
    is_merged             BOOLEAN,
    additions             INT,
    deletions             INT,
    changed_files         INT,
    commits               INT,
    item_created_at       TIMESTAMP,
    item_closed_at        TIMESTAMP,
    item_merged_at        TIMESTAMP,
    -- PullRequestReviewEvent: approved, changes_requested, commented, dismissed.
    review_state          TEXT,
    -- Issues (IssuesEvent; number and is_pull_request for IssueCommentEvent).
    item_title            TEXT,
    item_labels           TEXT[],
    item_comments         INT,
    -- IssueCommentEvent on a pull request's conversation (silver.is_pull_request_item).
    is_pull_request       BOOLEAN,
    -- PushEvent: ref (refs/heads/...), size and distinct_size (commits), head sha.
    -- CreateEvent / DeleteEvent: ref (branch or tag name, NULL for a repository) and ref_type.
    ref                   TEXT,
    ref_type              TEXT,
    push_size             INT,
    push_distinct_size    INT,
    head_sha              TEXT,
    -- ReleaseEvent.
    release_tag           TEXT,
    release_name          TEXT,
    is_prerelease         BOOLEAN,
    -- ForkEvent: the new repository (payload.forkee).
    fork_repo_id          BIGINT,
    fork_repo_name        TEXT,
    -- MemberEvent: the collaborator added; GollumEvent: wiki pages touched (the page objects).
    member_login          TEXT,
    pages_count           INT,
    -- CommitCommentEvent: the commented commit.
    commit_sha            TEXT,
    -- Names of fields present with the wrong JSON type (their columns are NULL); NULL when none.
    malformed_fields      TEXT[],
    processed_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_silver_event_payloads PRIMARY KEY (event_id)
);

-- gold.v_payload_health counts malformed payloads: a small partial index instead of a scan.
CREATE INDEX IF NOT EXISTS idx_silver_event_payloads_malformed
    ON silver.event_payloads (event_type) WHERE malformed_fields IS NOT NULL;

-- The types read here. An unknown or future type still reaches gold.fact_events as today.
CREATE OR REPLACE FUNCTION silver.payload_event_types() RETURNS TEXT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['WatchEvent', 'ForkEvent', 'PullRequestEvent', 'PullRequestReviewEvent',
                 'PullRequestReviewCommentEvent', 'IssuesEvent', 'IssueCommentEvent', 'PushEvent',
                 'ReleaseEvent', 'CreateEvent', 'DeleteEvent', 'MemberEvent', 'PublicEvent',
                 'GollumEvent', 'CommitCommentEvent']
$$;

-- Counts and numbers are stored as INT: the largest GitHub sends (additions of a vendored
-- pull request) are in the millions. A value beyond INT is not a count GitHub sends: malformed.
CREATE OR REPLACE FUNCTION silver.payload_int(p JSONB) RETURNS INT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN jsonb_typeof(p) = 'number' AND (p #>> '{}') ~ '^[0-9]{1,10}$'
                  AND (p #>> '{}')::BIGINT <= 2147483647
                 THEN p #>> '{}' END)::INT
$$;

CREATE OR REPLACE FUNCTION silver.payload_bigint(p JSONB) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN jsonb_typeof(p) = 'number' AND (p #>> '{}') ~ '^[0-9]{1,18}$'
                 THEN p #>> '{}' END)::BIGINT
$$;

CREATE OR REPLACE FUNCTION silver.payload_bool(p JSONB) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN jsonb_typeof(p) = 'boolean' THEN p #>> '{}' END)::BOOLEAN
$$;

CREATE OR REPLACE FUNCTION silver.payload_text(p JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'string' THEN p #>> '{}' END
$$;

-- Payload times follow the same rule as created_at (silver.event_time_of).
CREATE OR REPLACE FUNCTION silver.payload_time(p JSONB) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'string' THEN silver.event_time_of(p) END
$$;

-- TRUE when the value is there (not absent, not JSON null) but its typed reading is NULL.
CREATE OR REPLACE FUNCTION silver.payload_is_malformed(p JSONB, typed_is_null BOOLEAN) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p IS NOT NULL AND jsonb_typeof(p) <> 'null' AND typed_is_null
$$;

-- An issue (payload.issue of IssueCommentEvent) is a pull request when its pull_request object
-- links to one: html_url or url a non-empty string. The key alone does not say: the API of 2013
-- sent "pull_request": {"html_url": null, "diff_url": null, "patch_url": null} on plain issues
-- (event 1652857697), and every recorded comment whose issue page is .../pull/N has a link.
-- NULL when the issue is not an object (legacy Timeline comments carry only its id).
CREATE OR REPLACE FUNCTION silver.is_pull_request_item(issue JSONB) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(issue) = 'object'
                THEN jsonb_typeof(issue -> 'pull_request') IS NOT DISTINCT FROM 'object'
                     AND (COALESCE(silver.payload_text(issue -> 'pull_request' -> 'html_url'), '') <> ''
                          OR COALESCE(silver.payload_text(issue -> 'pull_request' -> 'url'), '') <> '')
           END
$$;

-- What one event's payload says, as the typed columns of silver.event_payloads (after event_id and
-- event_type, in its order): the reading rules of this file's header, per type. p_event_type is the
-- event's type (callers keep the row only for the types of silver.payload_event_types()),
-- p_payload its payload, p_url a legacy Timeline event's page (NULL for modern events). One row.
-- A SQL function of one SELECT, not strict, not volatile, returning a set: PostgreSQL inlines it
-- into the query that calls it (CROSS JOIN LATERAL), so it costs no call per event. Each step
-- below is evaluated once per event (OFFSET 0 keeps a step from being inlined into every
-- expression that reads it), and nothing is materialised: the payload is read once (#> '{}'
-- returns it detoasted) and every field is taken from that.
CREATE OR REPLACE FUNCTION silver.read_payload(p_event_type TEXT, p_payload JSONB, p_url JSONB)
RETURNS TABLE (
    action TEXT, item_number INT, is_merged BOOLEAN, additions INT, deletions INT, changed_files INT,
    commits INT, item_created_at TIMESTAMP, item_closed_at TIMESTAMP, item_merged_at TIMESTAMP,
    review_state TEXT, item_title TEXT, item_labels TEXT[], item_comments INT, is_pull_request BOOLEAN,
    ref TEXT, ref_type TEXT, push_size INT, push_distinct_size INT, head_sha TEXT, release_tag TEXT,
    release_name TEXT, is_prerelease BOOLEAN, fork_repo_id BIGINT, fork_repo_name TEXT,
    member_login TEXT, pages_count INT, commit_sha TEXT, malformed_fields TEXT[]
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT t.action, t.item_number, t.is_merged, t.additions, t.deletions, t.changed_files, t.commits,
           t.item_created_at, t.item_closed_at, t.item_merged_at, t.review_state, t.item_title,
           t.item_labels, t.item_comments, t.is_pull_request, t.ref, t.ref_type, t.push_size,
           t.push_distinct_size, t.head_sha, t.release_tag, t.release_name, t.is_prerelease,
           t.fork_repo_id, t.fork_repo_name, t.member_login, t.pages_count, t.commit_sha,
           -- The fields that decide a count or a figure: present with the wrong type.
           NULLIF(array_remove(ARRAY[
               CASE WHEN silver.payload_is_malformed(d.rp, d.p IS NULL) THEN 'payload' END,
               CASE WHEN silver.payload_is_malformed(x.j_action, t.action IS NULL) THEN 'action' END,
               CASE WHEN silver.payload_is_malformed(x.j_number, t.item_number IS NULL) THEN 'number' END,
               CASE WHEN s.event_type = 'PullRequestEvent'
                     AND silver.payload_is_malformed(x.item -> 'merged', t.is_merged IS NULL) THEN 'merged' END,
               CASE WHEN s.event_type = 'PullRequestEvent'
                     AND silver.payload_is_malformed(x.item -> 'additions', t.additions IS NULL) THEN 'additions' END,
               CASE WHEN s.event_type = 'PullRequestEvent'
                     AND silver.payload_is_malformed(x.item -> 'deletions', t.deletions IS NULL) THEN 'deletions' END,
               CASE WHEN s.event_type = 'PullRequestEvent'
                     AND silver.payload_is_malformed(x.item -> 'changed_files', t.changed_files IS NULL)
                    THEN 'changed_files' END,
               CASE WHEN s.event_type = 'PullRequestEvent'
                     AND silver.payload_is_malformed(x.item -> 'commits', t.commits IS NULL) THEN 'commits' END,
               CASE WHEN s.event_type IN ('IssuesEvent', 'IssueCommentEvent')
                     AND silver.payload_is_malformed(x.item -> 'comments', t.item_comments IS NULL) THEN 'comments' END,
               CASE WHEN s.event_type = 'PushEvent'
                     AND silver.payload_is_malformed(d.p -> 'size', t.push_size IS NULL) THEN 'size' END,
               CASE WHEN s.event_type = 'PushEvent'
                     AND silver.payload_is_malformed(d.p -> 'distinct_size', t.push_distinct_size IS NULL)
                    THEN 'distinct_size' END,
               -- pages not an array, or an array holding something other than page objects.
               CASE WHEN s.event_type = 'GollumEvent'
                     AND (silver.payload_is_malformed(d.p -> 'pages', t.pages_count IS NULL)
                          OR t.pages_count < CASE WHEN jsonb_typeof(d.p -> 'pages') = 'array'
                                                  THEN jsonb_array_length(d.p -> 'pages') END)
                    THEN 'pages' END
           ], NULL), '{}')
      FROM (SELECT p_event_type AS event_type,
                   -- (pull|issues, number) of a legacy issue comment's page; NULL otherwise.
                   regexp_match(silver.payload_text(p_url),
                                '^https?://[^/]+/[^/]+/[^/]+/(pull|issues)/([0-9]{1,9})([#?/]|$)') AS page
            OFFSET 0) AS s
     CROSS JOIN LATERAL (SELECT p_payload #> '{}' AS rp OFFSET 0) AS r
     CROSS JOIN LATERAL (SELECT r.rp AS rp,
                                CASE WHEN jsonb_typeof(r.rp) = 'object' THEN r.rp END AS p
                         OFFSET 0) AS d
     CROSS JOIN LATERAL (SELECT
               d.p -> 'action' AS j_action,
               -- The item: a pull request or an issue, wherever this type keeps it.
               CASE WHEN s.event_type LIKE 'PullRequest%' THEN d.p -> 'pull_request'
                    WHEN s.event_type IN ('IssuesEvent', 'IssueCommentEvent') THEN d.p -> 'issue' END AS item,
               CASE WHEN s.event_type = 'PullRequestEvent' AND d.p ? 'number' THEN d.p -> 'number'
                    -- Legacy Timeline review comments (before 2015) carry only the comment: the
                    -- number is the end of its pull_request_url (.../pulls/N; up to 9 digits, so
                    -- always an INT: a number read from a URL is never judged malformed).
                    WHEN s.event_type = 'PullRequestReviewCommentEvent'
                     AND COALESCE(jsonb_typeof(d.p -> 'pull_request' -> 'number'), 'null') = 'null'
                    THEN to_jsonb(substring(silver.payload_text(d.p -> 'comment' -> 'pull_request_url')
                                            FROM '/pulls/([0-9]{1,9})$')::NUMERIC)
                    WHEN s.event_type LIKE 'PullRequest%' THEN d.p -> 'pull_request' -> 'number'
                    -- Legacy Timeline IssuesEvent: {action, issue: <the issue's id>, number}.
                    WHEN s.event_type = 'IssuesEvent' AND jsonb_typeof(d.p -> 'issue') IS DISTINCT FROM 'object'
                    THEN d.p -> 'number'
                    -- Legacy Timeline issue comments: {issue_id, comment_id}; the number is in the
                    -- event's page (up to 9 digits: always an INT, never judged malformed).
                    WHEN s.event_type = 'IssueCommentEvent' AND jsonb_typeof(d.p -> 'issue') IS DISTINCT FROM 'object'
                     AND s.page IS NOT NULL
                    THEN to_jsonb(s.page[2]::NUMERIC)
                    WHEN s.event_type IN ('IssuesEvent', 'IssueCommentEvent') THEN d.p -> 'issue' -> 'number'
               END AS j_number,
               d.p -> 'release' AS rel,
               d.p -> 'forkee' AS forkee
                         OFFSET 0) AS x
     CROSS JOIN LATERAL (SELECT
               silver.payload_text(x.j_action) AS action,
               silver.payload_int(x.j_number) AS item_number,
               CASE WHEN s.event_type = 'PullRequestEvent' THEN silver.payload_bool(x.item -> 'merged') END AS is_merged,
               CASE WHEN s.event_type = 'PullRequestEvent' THEN silver.payload_int(x.item -> 'additions') END AS additions,
               CASE WHEN s.event_type = 'PullRequestEvent' THEN silver.payload_int(x.item -> 'deletions') END AS deletions,
               CASE WHEN s.event_type = 'PullRequestEvent' THEN silver.payload_int(x.item -> 'changed_files') END AS changed_files,
               CASE WHEN s.event_type = 'PullRequestEvent' THEN silver.payload_int(x.item -> 'commits') END AS commits,
               CASE WHEN s.event_type IN ('PullRequestEvent', 'IssuesEvent')
                    THEN silver.payload_time(x.item -> 'created_at') END AS item_created_at,
               CASE WHEN s.event_type IN ('PullRequestEvent', 'IssuesEvent')
                    THEN silver.payload_time(x.item -> 'closed_at') END AS item_closed_at,
               CASE WHEN s.event_type = 'PullRequestEvent' THEN silver.payload_time(x.item -> 'merged_at') END AS item_merged_at,
               CASE WHEN s.event_type = 'PullRequestReviewEvent'
                    THEN lower(silver.payload_text(d.p -> 'review' -> 'state')) END AS review_state,
               CASE WHEN s.event_type IN ('PullRequestEvent', 'IssuesEvent')
                    THEN silver.payload_text(x.item -> 'title') END AS item_title,
               CASE WHEN s.event_type = 'IssuesEvent' AND jsonb_typeof(x.item -> 'labels') = 'array'
                    THEN ARRAY(SELECT l ->> 'name' FROM jsonb_array_elements(x.item -> 'labels') AS l
                                WHERE jsonb_typeof(l -> 'name') = 'string') END AS item_labels,
               CASE WHEN s.event_type IN ('IssuesEvent', 'IssueCommentEvent')
                    THEN silver.payload_int(x.item -> 'comments') END AS item_comments,
               CASE WHEN s.event_type <> 'IssueCommentEvent' THEN NULL
                    WHEN jsonb_typeof(x.item) = 'object' THEN silver.is_pull_request_item(x.item)
                    ELSE s.page[1] = 'pull' END AS is_pull_request,
               CASE WHEN s.event_type IN ('PushEvent', 'CreateEvent', 'DeleteEvent')
                    THEN silver.payload_text(d.p -> 'ref') END AS ref,
               CASE WHEN s.event_type IN ('CreateEvent', 'DeleteEvent')
                    THEN silver.payload_text(d.p -> 'ref_type') END AS ref_type,
               CASE WHEN s.event_type = 'PushEvent' THEN silver.payload_int(d.p -> 'size') END AS push_size,
               CASE WHEN s.event_type <> 'PushEvent' THEN NULL
                    WHEN COALESCE(jsonb_typeof(d.p -> 'distinct_size'), 'null') <> 'null'
                    THEN silver.payload_int(d.p -> 'distinct_size')
                    -- Legacy Timeline pushes have no distinct_size but shas: [sha, email, message,
                    -- name, distinct]. GH Archive keeps at most 20 of them, so the count is known
                    -- only when shas holds the whole push (as many as size) and every one says.
                    WHEN jsonb_typeof(d.p -> 'shas') = 'array'
                     AND jsonb_array_length(d.p -> 'shas') = silver.payload_int(d.p -> 'size')
                    THEN (SELECT CASE WHEN COUNT(*) FILTER (WHERE jsonb_typeof(sh.sha -> 4) IS DISTINCT FROM 'boolean') = 0
                                      THEN COUNT(*) FILTER (WHERE sh.sha -> 4 = 'true'::JSONB)::INT END
                            FROM jsonb_array_elements(d.p -> 'shas') AS sh (sha))
               END AS push_distinct_size,
               CASE WHEN s.event_type = 'PushEvent' THEN silver.payload_text(d.p -> 'head') END AS head_sha,
               CASE WHEN s.event_type = 'ReleaseEvent' THEN silver.payload_text(x.rel -> 'tag_name') END AS release_tag,
               CASE WHEN s.event_type = 'ReleaseEvent' THEN silver.payload_text(x.rel -> 'name') END AS release_name,
               CASE WHEN s.event_type = 'ReleaseEvent' THEN silver.payload_bool(x.rel -> 'prerelease') END AS is_prerelease,
               -- Legacy Timeline forks: {} in 2014 (unknown: NULL, still a fork); before, forkee may be
               -- the new repository's id, or an object with name and owner (a login, or an object).
               CASE WHEN s.event_type = 'ForkEvent'
                    THEN COALESCE(silver.payload_bigint(x.forkee -> 'id'), silver.payload_bigint(x.forkee)) END AS fork_repo_id,
               CASE WHEN s.event_type = 'ForkEvent'
                    THEN COALESCE(silver.payload_text(x.forkee -> 'full_name'),
                                  COALESCE(silver.payload_text(x.forkee -> 'owner' -> 'login'),
                                           silver.payload_text(x.forkee -> 'owner'))
                                  || '/' || silver.payload_text(x.forkee -> 'name')) END AS fork_repo_name,
               -- member: a user object, or in older legacy payloads the login itself.
               CASE WHEN s.event_type = 'MemberEvent'
                    THEN COALESCE(silver.payload_text(d.p -> 'member' -> 'login'),
                                  silver.payload_text(d.p -> 'member')) END AS member_login,
               -- A page is an object ({page_name, action, ...}); anything else in pages is not one.
               CASE WHEN s.event_type = 'GollumEvent' AND jsonb_typeof(d.p -> 'pages') = 'array'
                    THEN (SELECT COUNT(*)::INT FROM jsonb_array_elements(d.p -> 'pages') AS pg (page)
                           WHERE jsonb_typeof(pg.page) = 'object') END AS pages_count,
               -- Legacy Timeline commit comments: {commit: <sha>, comment_id}.
               CASE WHEN s.event_type = 'CommitCommentEvent'
                    THEN COALESCE(silver.payload_text(d.p -> 'comment' -> 'commit_id'),
                                  silver.payload_text(d.p -> 'commit')) END AS commit_sha
                         OFFSET 0) AS t
$$;

-- The session's batch table: each bronze row of a silver batch split into its top-level fields
-- and its payload's typed columns (silver.load_batch() fills it, reading each raw_data once and
-- the payload with silver.read_payload() in the same pass, so the payload itself is never written
-- down). A temp table of the session, created once and reused by a long-running process
-- (ON COMMIT DELETE ROWS). A process that outlived an upgrade may hold one of an older shape: its
-- column names (in order) are compared with today's (the fields below, then read_payload()'s
-- columns), and a table of another shape is dropped and created afresh.
CREATE OR REPLACE FUNCTION silver.prepare_batch_fields()
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    -- The fields of the CREATE below, in order; then the payload's columns.
    c_fields CONSTANT NAME[] := ARRAY[
        'raw_event_id', 'ingest_xid', 'event_id', 'ingested_at', 'is_legacy', 'type_json', 'actor_json',
        'attributes_login_json', 'repo_json', 'org_json', 'repository', 'public_json', 'created_at_json'];
    v_columns NAME[];
    v_table REGCLASS := to_regclass('pg_temp.silver_batch_fields');
BEGIN
    SELECT c_fields || array_agg(a.name::NAME ORDER BY a.position)
      INTO v_columns
      FROM pg_proc AS f
     CROSS JOIN LATERAL unnest(f.proargnames, f.proargmodes) WITH ORDINALITY AS a (name, mode, position)
     WHERE f.oid = 'silver.read_payload(text, jsonb, jsonb)'::REGPROCEDURE AND a.mode = 't';
    IF v_table IS NOT NULL
       AND (SELECT array_agg(a.attname ORDER BY a.attnum)
              FROM pg_attribute AS a
             WHERE a.attrelid = v_table AND a.attnum > 0 AND NOT a.attisdropped) IS DISTINCT FROM v_columns THEN
        DROP TABLE pg_temp.silver_batch_fields;
        v_table := NULL;
    END IF;
    IF v_table IS NULL THEN
        CREATE TEMP TABLE silver_batch_fields ON COMMIT DELETE ROWS AS
        SELECT NULL::BIGINT AS raw_event_id, NULL::XID8 AS ingest_xid, NULL::TEXT AS event_id,
               NULL::TIMESTAMPTZ AS ingested_at, NULL::BOOLEAN AS is_legacy, NULL::JSONB AS type_json,
               NULL::JSONB AS actor_json, NULL::JSONB AS attributes_login_json, NULL::JSONB AS repo_json,
               NULL::JSONB AS org_json, NULL::JSONB AS repository, NULL::JSONB AS public_json,
               NULL::JSONB AS created_at_json, p.*
          FROM silver.read_payload(NULL, NULL, NULL) AS p
          WITH NO DATA;
    END IF;
    TRUNCATE pg_temp.silver_batch_fields;
END;
$$;

-- The payload rows of a silver batch, from the session's batch table (silver_batch_fields, filled
-- by silver.load_batch() or silver.load_payload_batch()): one INSERT ... SELECT, only for the
-- types read here and the events silver keeps for gold (a rejected event never becomes a fact).
CREATE OR REPLACE FUNCTION silver.load_payload_details()
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_rows BIGINT;
BEGIN
    INSERT INTO silver.event_payloads (
        event_id, event_type, action, item_number, is_merged, additions, deletions, changed_files,
        commits, item_created_at, item_closed_at, item_merged_at, review_state, item_title,
        item_labels, item_comments, is_pull_request, ref, ref_type, push_size, push_distinct_size,
        head_sha, release_tag, release_name, is_prerelease, fork_repo_id, fork_repo_name,
        member_login, pages_count, commit_sha, malformed_fields
    )
    SELECT b.event_id, b.type_json #>> '{}', b.action, b.item_number, b.is_merged, b.additions,
           b.deletions, b.changed_files, b.commits, b.item_created_at, b.item_closed_at,
           b.item_merged_at, b.review_state, b.item_title, b.item_labels, b.item_comments,
           b.is_pull_request, b.ref, b.ref_type, b.push_size, b.push_distinct_size, b.head_sha,
           b.release_tag, b.release_name, b.is_prerelease, b.fork_repo_id, b.fork_repo_name,
           b.member_login, b.pages_count, b.commit_sha, b.malformed_fields
      FROM silver_batch_fields AS b
     WHERE b.type_json #>> '{}' = ANY (silver.payload_event_types())
       AND EXISTS (SELECT 1 FROM silver.events AS e
                    WHERE e.event_id = b.event_id AND e.reject_reason IS NULL)
     ORDER BY b.ingest_xid, b.raw_event_id  -- bronze's order, as silver.events' insert
    ON CONFLICT (event_id) DO NOTHING;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END;
$$;

-- The entry point of migration 0011 (and of releases before the batch table had its fields
-- split): the payload rows of the temp table silver_batch (event_id, raw_data).
CREATE OR REPLACE FUNCTION silver.load_payload_batch()
RETURNS BIGINT
LANGUAGE plpgsql
SET enable_memoize = off  -- as silver.load_batch(): no cache keyed by whole payloads
AS $$
BEGIN
    PERFORM silver.prepare_batch_fields();
    INSERT INTO silver_batch_fields (
        event_id, type_json, action, item_number, is_merged, additions, deletions, changed_files,
        commits, item_created_at, item_closed_at, item_merged_at, review_state, item_title,
        item_labels, item_comments, is_pull_request, ref, ref_type, push_size, push_distinct_size,
        head_sha, release_tag, release_name, is_prerelease, fork_repo_id, fork_repo_name,
        member_login, pages_count, commit_sha, malformed_fields
    )
    SELECT b.event_id, b.raw_data -> 'type', p.*
      FROM silver_batch AS b
     CROSS JOIN LATERAL silver.read_payload(
               b.raw_data ->> 'type', b.raw_data -> 'payload',
               CASE WHEN starts_with(b.event_id, bronze.legacy_id_prefix()) THEN b.raw_data -> 'url' END) AS p;
    RETURN silver.load_payload_details();
END;
$$;

-- The migrations' repair of rows an earlier rule read: the payloads of the events listed in the
-- session's temp table payload_reread (event_id) are read again from bronze under today's rules
-- (their silver.event_payloads rows replaced). The facts those rows feed are the caller's to fix.
CREATE OR REPLACE FUNCTION silver.reread_payloads()
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_rows BIGINT;
BEGIN
    DELETE FROM silver.event_payloads AS p USING payload_reread AS r WHERE p.event_id = r.event_id;
    IF to_regclass('pg_temp.silver_batch') IS NOT NULL THEN
        DROP TABLE pg_temp.silver_batch;
    END IF;
    CREATE TEMP TABLE silver_batch ON COMMIT DROP AS
    SELECT b.raw_event_id, b.ingest_xid, b.event_id, b.raw_data, b.ingested_at
      FROM payload_reread AS r
      JOIN bronze.raw_events AS b ON b.event_id = r.event_id;
    v_rows := silver.load_payload_batch();
    DROP TABLE pg_temp.silver_batch;
    RETURN v_rows;
END;
$$;
