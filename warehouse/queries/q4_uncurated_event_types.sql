-- =============================================================================
-- queries/q4_uncurated_event_types.sql — the specification's Q4, verbatim.
--   grain: one row per auto-discovered event type not yet curated.
--   reads: gold.dim_event_types. run by: BI, `make demo`, tests.
-- =============================================================================
SELECT event_type, discovered_at
FROM gold.dim_event_types
WHERE is_curated = FALSE
ORDER BY discovered_at DESC;
