-- =============================================================================
-- 0013_payload_facts_without_row_checks.sql — drops the foreign keys of the gold payload facts
-- (gold/08_payload_facts.sql) that releases before this one created.
--   grain:   one run; on a new warehouse (the baseline creates the facts without them) it
--            finds nothing to drop.
--   written: the constraints of gold.fact_* payload facts (no rows change).
--   read:    pg_constraint.
-- Why: each detail fact copies event_id and the conformed keys from the gold.fact_events row
-- the same gold transaction inserts (and fact_events enforces its foreign keys to the four
-- dimensions), so the keys hold by construction; PostgreSQL checks a foreign key with a
-- trigger per key per row, which took 2.9 s of the payload load's 5.0 s on 100,000 events.
-- gold.agg_repo_daily_activity keeps its two (one row per repository and day: cheap).
-- =============================================================================

DO $$
DECLARE
    v_constraint RECORD;
BEGIN
    FOR v_constraint IN
        SELECT c.conrelid::REGCLASS AS table_name, c.conname
          FROM pg_constraint AS c
         WHERE c.contype = 'f'
           AND c.conrelid IN (SELECT to_regclass('gold.' || t)
                                FROM unnest(ARRAY['fact_stars', 'fact_forks', 'fact_pull_request_events',
                                                  'fact_pull_request_reviews', 'fact_issue_events',
                                                  'fact_comments', 'fact_pushes', 'fact_releases', 'fact_refs',
                                                  'fact_members', 'fact_wiki_edits']) AS t)
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', v_constraint.table_name, v_constraint.conname);
    END LOOP;
END;
$$;
