-- =============================================================================
-- 0015_pull_request_comment_rule.sql — issue comments that earlier releases read as comments on
-- a pull request only because their issue carried a pull_request key (the API of 2013 sent
-- "pull_request": {"html_url": null, "diff_url": null, "patch_url": null} on plain issues) are
-- read again under today's rule, silver.is_pull_request_item() (silver/payloads.sql), and the
-- comment facts follow, so an upgraded warehouse holds what a clean load of the same events holds.
--   grain:   one run over the IssueCommentEvent rows of silver.event_payloads marked
--            is_pull_request = true, each issue read again from its bronze payload. Only those:
--            the earlier rule said false only when the key was absent, and so does today's. On a
--            new or already repaired warehouse nothing changes.
--   written: silver.event_payloads.is_pull_request (of those rows), gold.fact_comments.comment_kind
--            ('pull_request' -> 'issue') of the events read again as plain issue comments.
--   read:    silver.event_payloads, bronze.raw_events (payload.issue), gold.fact_comments.
-- gold.agg_repo_daily_activity needs nothing: it counts no comments. Takes the gold watermark's
-- row lock, so it never interleaves with a gold run (which copies comment_kind from silver).
-- Running it again changes nothing: no row it reads is still marked by the earlier rule.
-- =============================================================================

DO $$
BEGIN
    PERFORM 1 FROM gold.etl_watermark WHERE pipeline = 'gold.fact_events' FOR UPDATE;

    WITH reread AS (
        UPDATE silver.event_payloads AS p
           SET is_pull_request = silver.is_pull_request_item(b.raw_data -> 'payload' -> 'issue')
          FROM bronze.raw_events AS b
         WHERE b.event_id = p.event_id
           AND p.event_type = 'IssueCommentEvent'
           AND p.is_pull_request
           AND silver.is_pull_request_item(b.raw_data -> 'payload' -> 'issue') IS NOT TRUE
        RETURNING p.event_id
    )
    UPDATE gold.fact_comments AS f
       SET comment_kind = 'issue'
      FROM reread AS r
     WHERE f.event_id = r.event_id
       AND f.comment_kind = 'pull_request';
END;
$$;
