-- =============================================================================
-- 0016_legacy_issue_comment_pages.sql — legacy Timeline issue comments (GH Archive before 2015,
-- payload {issue_id, comment_id}) that earlier releases stored without a number and as comments
-- on plain issues are read again: their number and whether they are on a pull request come from
-- the event's page (url: https://github.com/o/r/pull/12#issuecomment-...), as silver reads them
-- now (silver/payloads.sql), and the comment facts follow, so an upgraded warehouse holds what a
-- clean load of the same events holds.
--   grain:   one run over the legacy IssueCommentEvent rows of silver.event_payloads without an
--            item_number, each read again from bronze. On a new or already repaired warehouse
--            the set is empty.
--   written: silver.event_payloads (those rows, read again), gold.fact_comments.item_number and
--            comment_kind of the same events.
--   read:    silver.event_payloads, bronze.raw_events, gold.fact_comments.
-- gold.agg_repo_daily_activity needs nothing: it counts no comments. Takes the gold watermark's
-- row lock, so it never interleaves with a gold run. Running it again changes nothing: the rows
-- read again either have their number now or have no page to take it from, and read the same.
-- =============================================================================

DO $$
BEGIN
    PERFORM 1 FROM gold.etl_watermark WHERE pipeline = 'gold.fact_events' FOR UPDATE;

    -- The comments read again (silver.reread_payloads(), the baseline's), kept aside so the
    -- repair below visits only their facts.
    IF to_regclass('pg_temp.payload_reread') IS NOT NULL THEN
        DROP TABLE pg_temp.payload_reread;
    END IF;
    CREATE TEMP TABLE payload_reread ON COMMIT DROP AS
    SELECT p.event_id
      FROM silver.event_payloads AS p
     WHERE p.event_type = 'IssueCommentEvent'
       AND p.item_number IS NULL
       AND starts_with(p.event_id, bronze.legacy_id_prefix());
    ALTER TABLE payload_reread ADD PRIMARY KEY (event_id);
    ANALYZE payload_reread;
    PERFORM silver.reread_payloads();

    -- The facts those readings feed (facts are otherwise insert-only; this is a one-time repair).
    UPDATE gold.fact_comments AS f
       SET item_number = p.item_number,
           comment_kind = CASE WHEN p.is_pull_request THEN 'pull_request' ELSE 'issue' END
      FROM payload_reread AS r
      JOIN silver.event_payloads AS p ON p.event_id = r.event_id
     WHERE p.event_id = f.event_id
       AND (f.item_number IS DISTINCT FROM p.item_number
            OR f.comment_kind IS DISTINCT FROM CASE WHEN p.is_pull_request THEN 'pull_request' ELSE 'issue' END);
END;
$$;
