-- =============================================================================
-- queries/completeness.sql — per hour of a range, how complete bronze and gold are
-- (`ghdw backfill --report`, `backfill.py --report`).
--   Grain: one row per hour from %(first)s to %(last)s (query parameters, TIMESTAMP).
--   Reads bronze.raw_events (by the created_at hour, through idx_raw_events_created_hour),
--   gold.fact_events (by date_id) and the backfill ledger bronze.backfill_files. Writes nothing.
--   coverage: missing, partial archive file, archive, listener sample only, other files.
--   Hours are UTC. archive_file is the GH Archive file that holds the hour and format its shape:
--   before 2015-01-01 00:00 UTC the legacy Timeline files, named in US Pacific time with daylight
--   saving (UTC 2014-06-01 08:00 is in 2014-06-01-1; at the autumn change two UTC hours share one
--   file name); from then on the modern files, named in UTC. The legacy files 2014-12-31-16 .. 23
--   repeat the UTC hours of 2015-01-01-0 .. 7: gold takes the modern file's events there
--   (silver/ddl.sql, the overlap rule), and those rows name the modern file.
-- =============================================================================
WITH hours AS (
    SELECT generate_series(%(first)s::TIMESTAMP, %(last)s::TIMESTAMP, INTERVAL '1 hour') AS hour
),
files AS (
    -- 2015-01-01 00:00 UTC: GH Archive's first modern file (silver.modern_format_start(); written out
    -- here because the roles that run this report may not execute silver's functions).
    SELECT h.hour,
           CASE WHEN h.hour < TIMESTAMP '2015-01-01 00:00:00' THEN 'legacy_timeline' ELSE 'modern' END AS format,
           CASE WHEN h.hour < TIMESTAMP '2015-01-01 00:00:00'
                THEN (h.hour AT TIME ZONE 'UTC') AT TIME ZONE 'America/Los_Angeles'
                ELSE h.hour END AS named_hour
      FROM hours AS h
),
bronze_hours AS (
    SELECT date_trunc('hour', (b.raw_data ->> 'created_at')::TIMESTAMPTZ AT TIME ZONE 'UTC') AS hour,
           COUNT(*) AS events,
           COUNT(*) FILTER (WHERE b.source LIKE 'gharchive:%%') AS from_archive,
           COUNT(*) FILTER (WHERE b.source = 'api') AS from_listener
    FROM bronze.raw_events AS b
    WHERE b.raw_data ->> 'created_at' ~ '^\d{4}-\d{2}-\d{2}T\d{2}'
      -- the expression of bronze's idx_raw_events_created_hour: read only the hours asked for.
      -- That text is the local hour; offsets reach 14 hours (legacy events carry -07:00/-08:00).
      AND left(b.raw_data ->> 'created_at', 13)
          BETWEEN to_char(%(first)s::TIMESTAMP - INTERVAL '14 hours', 'YYYY-MM-DD"T"HH24')
              AND to_char(%(last)s::TIMESTAMP + INTERVAL '14 hours', 'YYYY-MM-DD"T"HH24')
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
            ELSE 'other files' END AS coverage,
       h.archive_file,
       h.format
FROM (SELECT fh.hour, fh.format,
             to_char(fh.named_hour, 'YYYY-MM-DD') || '-' || EXTRACT(HOUR FROM fh.named_hour)::INT AS archive_file
        FROM files AS fh) AS h
LEFT JOIN bronze_hours AS b ON b.hour = h.hour
LEFT JOIN gold_hours AS g ON g.hour = h.hour
LEFT JOIN bronze.backfill_files AS f ON f.file_name = h.archive_file || '.json.gz'
ORDER BY h.hour
