-- =============================================================================
-- bronze/load/staging.sql — the loader's session-private staging tables (ghdw.bronze_loader).
--   pg_temp.bronze_staging: one row per input line of the chunk being loaded (line_no counts
--     from 1; a NULL line keeps the numbering of blank or unreadable lines). Filled by COPY.
--   pg_temp.bronze_staging_jsonb: the fast path's COPY target, one parsed document per line.
--   Both are emptied at commit; neither is compressed: staged text lives for one transaction.
-- Read by: load_lines.sql and load_parsed.sql. Written by: COPY in bronze_loader.py.
-- =============================================================================
CREATE TEMP TABLE IF NOT EXISTS bronze_staging (
    line_no BIGINT GENERATED ALWAYS AS IDENTITY,
    line    TEXT STORAGE EXTERNAL  -- no compression: staged text lives for one transaction
) ON COMMIT DELETE ROWS;

CREATE TEMP TABLE IF NOT EXISTS bronze_staging_jsonb (
    doc JSONB STORAGE EXTERNAL  -- parsed by COPY; not compressed, it lives for one transaction
) ON COMMIT DELETE ROWS;
