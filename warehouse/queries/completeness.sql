-- =============================================================================
-- queries/completeness.sql — per hour of a range, how complete bronze and gold are
-- (`ghdw backfill --report`, `backfill.py --report`).
--   Grain: one row per hour from %(first)s to %(last)s (query parameters, TIMESTAMP).
--   Reads bronze.raw_events (by the created_at hour, through idx_raw_events_created_hour),
--   gold.fact_events (by date_id) and the backfill ledger bronze.backfill_files. Writes nothing.
--   coverage: missing, partial archive file, archive, listener sample only, other files.
-- =============================================================================
WITH hours AS (
    SELECT generate_series(%(first)s::TIMESTAMP, %(last)s::TIMESTAMP, INTERVAL '1 hour') AS hour
),
bronze_hours AS (
    SELECT date_trunc('hour', (b.raw_data ->> 'created_at')::TIMESTAMPTZ AT TIME ZONE 'UTC') AS hour,
           COUNT(*) AS events,
           COUNT(*) FILTER (WHERE b.source LIKE 'gharchive:%%') AS from_archive,
           COUNT(*) FILTER (WHERE b.source = 'api') AS from_listener
    FROM bronze.raw_events AS b
    WHERE b.raw_data ->> 'created_at' ~ '^\d{4}-\d{2}-\d{2}T\d{2}'
      -- the expression of bronze's idx_raw_events_created_hour: read only the hours asked for
      AND left(b.raw_data ->> 'created_at', 13) BETWEEN to_char(%(first)s::TIMESTAMP, 'YYYY-MM-DD"T"HH24')
                                                    AND to_char(%(last)s::TIMESTAMP, 'YYYY-MM-DD"T"HH24')
    GROUP BY 1
),
gold_hours AS (
    SELECT date_trunc('hour', f.event_time) AS hour, COUNT(*) AS events
    FROM gold.fact_events AS f
    WHERE f.date_id BETWEEN to_char(%(first)s::TIMESTAMP, 'YYYYMMDD')::INT   -- indexed: read only those days
                        AND to_char(%(last)s::TIMESTAMP, 'YYYYMMDD')::INT
      AND f.event_time >= %(first)s::TIMESTAMP AND f.event_time < %(last)s::TIMESTAMP + INTERVAL '1 hour'
    GROUP BY 1
)
SELECT to_char(h.hour, 'YYYY-MM-DD') || '-' || EXTRACT(HOUR FROM h.hour)::INT AS hour,
       COALESCE(b.events, 0) AS bronze_events,
       COALESCE(g.events, 0) AS gold_events,
       COALESCE(b.from_archive, 0) AS from_archive,
       COALESCE(b.from_listener, 0) AS from_listener,
       CASE WHEN b.events IS NULL THEN 'missing'
            WHEN f.status = 'partial' THEN 'partial archive file'
            WHEN b.from_archive > 0 THEN 'archive'
            WHEN b.from_listener = b.events THEN 'listener sample only'
            ELSE 'other files' END AS coverage
FROM hours AS h
LEFT JOIN bronze_hours AS b ON b.hour = h.hour
LEFT JOIN gold_hours AS g ON g.hour = h.hour
LEFT JOIN bronze.backfill_files AS f
       ON f.file_name = to_char(h.hour, 'YYYY-MM-DD') || '-' || EXTRACT(HOUR FROM h.hour)::INT || '.json.gz'
ORDER BY h.hour
