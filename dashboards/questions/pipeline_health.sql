-- =============================================================================
-- dashboards/questions/pipeline_health.sql — Metabase question "Pipeline health".
--   grain: one row: the pipeline's vital signs, ages in minutes (health.py grades the same figures).
--   reads: gold.v_pipeline_health (owner's rights: no grant on bronze/silver needed).
--   run by: Metabase (role gh_bi), report.py, tests/test_dashboards.py.
-- =============================================================================
SELECT
    ROUND(EXTRACT(EPOCH FROM checked_at - last_bronze_insert_at) / 60, 1) AS minutes_since_bronze_insert,
    ROUND(EXTRACT(EPOCH FROM checked_at - last_gold_load_at) / 60, 1)     AS minutes_since_gold_load,
    ROUND(EXTRACT(EPOCH FROM checked_at - last_poll_at) / 60, 1)          AS minutes_since_last_poll,
    bronze_backlog,
    gold_facts_estimate,
    dlq_unresolved,
    dlq_newest_at,
    suspected_gaps_24h,
    rejected_events,
    rejected_events_24h,
    unknown_actor_facts,
    unknown_repo_facts,
    unknown_type_facts,
    uncurated_event_types
FROM gold.v_pipeline_health;
