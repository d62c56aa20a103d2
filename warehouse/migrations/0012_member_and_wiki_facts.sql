-- =============================================================================
-- 0012_member_and_wiki_facts.sql — fills gold.fact_members and gold.fact_wiki_edits
-- (gold/08_payload_facts.sql creates them) once, for the events a warehouse already held before
-- they existed, and re-reads the payload details of legacy Timeline events whose shapes
-- silver/payloads.sql did not read before (IssuesEvent's number, a review comment's number from
-- its pull_request_url, CommitCommentEvent's commit, PushEvent's distinct count from shas,
-- MemberEvent's string member, ForkEvent's older forkee), so an upgraded warehouse holds what a
-- clean load of the same events holds.
--   grain:   one run over the legacy events of those six types (kept in payload_reread, so the
--            repairs visit only their facts) and every MemberEvent /
--            GollumEvent fact_events row without its detail fact. On a new warehouse every
--            set is empty and it does nothing.
--   written: silver.event_payloads (the legacy rows of those types, read again),
--            gold.fact_issue_events, gold.fact_comments, gold.fact_pushes, gold.fact_forks (the
--            columns those readings feed), gold.fact_members, gold.fact_wiki_edits.
--   read:    bronze.raw_events (the payloads), silver.events, silver.event_payloads,
--            gold.fact_events.
-- gold.agg_repo_daily_activity needs nothing: no measure it counts (event type, action,
-- merged, size) is read differently. Takes the gold watermark's row lock, so it never
-- interleaves with a gold run. Running it again changes nothing: the re-read gives the same
-- rows, the updates then match nothing, and the inserts are ON CONFLICT DO NOTHING.
-- =============================================================================

DO $$
BEGIN
    PERFORM 1 FROM gold.etl_watermark WHERE pipeline = 'gold.fact_events' FOR UPDATE;

    -- Legacy payloads, read again by today's rules (silver.reread_payloads(), the baseline's). The
    -- events read again are kept aside (payload_reread), so the repairs below visit only their
    -- facts, not every fact of a large warehouse.
    IF to_regclass('pg_temp.payload_reread') IS NOT NULL THEN
        DROP TABLE pg_temp.payload_reread;
    END IF;
    CREATE TEMP TABLE payload_reread ON COMMIT DROP AS
    SELECT p.event_id
      FROM silver.event_payloads AS p
      JOIN silver.events AS e ON e.event_id = p.event_id
     WHERE e.event_format = 'legacy_timeline'
       AND p.event_type IN ('IssuesEvent', 'PullRequestReviewCommentEvent', 'CommitCommentEvent',
                            'PushEvent', 'MemberEvent', 'ForkEvent');
    ALTER TABLE payload_reread ADD PRIMARY KEY (event_id);
    ANALYZE payload_reread;
    PERFORM silver.reread_payloads();

    -- The facts those readings feed (facts are otherwise insert-only; this is a one-time repair).
    UPDATE gold.fact_issue_events AS f
       SET issue_number = p.item_number
      FROM payload_reread AS r
      JOIN silver.event_payloads AS p ON p.event_id = r.event_id
     WHERE p.event_id = f.event_id AND f.issue_number IS DISTINCT FROM p.item_number;

    UPDATE gold.fact_comments AS f
       SET item_number = p.item_number, commit_sha = p.commit_sha
      FROM payload_reread AS r
      JOIN silver.event_payloads AS p ON p.event_id = r.event_id
     WHERE p.event_id = f.event_id
       AND (f.item_number IS DISTINCT FROM p.item_number OR f.commit_sha IS DISTINCT FROM p.commit_sha);

    UPDATE gold.fact_pushes AS f
       SET distinct_size = p.push_distinct_size
      FROM payload_reread AS r
      JOIN silver.event_payloads AS p ON p.event_id = r.event_id
     WHERE p.event_id = f.event_id AND f.distinct_size IS DISTINCT FROM p.push_distinct_size;

    UPDATE gold.fact_forks AS f
       SET fork_repo_id = p.fork_repo_id, fork_repo_name = p.fork_repo_name
      FROM payload_reread AS r
      JOIN silver.event_payloads AS p ON p.event_id = r.event_id
     WHERE p.event_id = f.event_id
       AND (f.fork_repo_id IS DISTINCT FROM p.fork_repo_id OR f.fork_repo_name IS DISTINCT FROM p.fork_repo_name);

    -- The two new facts, from the events gold already holds (same keys as their fact_events row).
    INSERT INTO gold.fact_members (event_id, date_id, actor_id, repo_id, event_time, action, member_login)
    SELECT f.event_id, f.date_id, f.actor_id, f.repo_id, f.event_time, p.action, p.member_login
      FROM gold.fact_events AS f
      JOIN silver.event_payloads AS p ON p.event_id = f.event_id
     WHERE f.event_type = 'MemberEvent' AND p.event_type = 'MemberEvent'
    ON CONFLICT (event_id) DO NOTHING;

    INSERT INTO gold.fact_wiki_edits (event_id, date_id, actor_id, repo_id, event_time, pages_count)
    SELECT f.event_id, f.date_id, f.actor_id, f.repo_id, f.event_time, p.pages_count
      FROM gold.fact_events AS f
      JOIN silver.event_payloads AS p ON p.event_id = f.event_id
     WHERE f.event_type = 'GollumEvent' AND p.event_type = 'GollumEvent'
    ON CONFLICT (event_id) DO NOTHING;
END;
$$;
