-- =============================================================================
-- bronze/backfill/record_file.sql — the backfill ledger: record a file's state in
-- bronze.backfill_files (one row per GH Archive hour or input file, keyed by file_name).
--   Written by ghdw.bronze.ledger when a file starts ('loading', started_at reset) and when it
--   ends ('completed', 'partial' or 'failed', with its counts, compressed bytes and sha256).
--   Query parameters: name, uri, status, lines, loaded, dups, errors, bytes, sha, finished, error.
--   A rerun skips 'completed' files; a file left 'loading' by a crash is loaded again.
-- =============================================================================
INSERT INTO bronze.backfill_files AS f (file_name, source_uri, status, lines, loaded, duplicates,
    errors, bytes, sha256, started_at, finished_at, error_message)
VALUES (%(name)s, %(uri)s, %(status)s, %(lines)s, %(loaded)s, %(dups)s, %(errors)s, %(bytes)s,
        %(sha)s, now(), CASE WHEN %(finished)s THEN now() END, %(error)s)
ON CONFLICT (file_name) DO UPDATE SET
    source_uri = EXCLUDED.source_uri, status = EXCLUDED.status, lines = EXCLUDED.lines,
    loaded = EXCLUDED.loaded, duplicates = EXCLUDED.duplicates, errors = EXCLUDED.errors,
    bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, error_message = EXCLUDED.error_message,
    started_at = CASE WHEN EXCLUDED.status = 'loading' THEN now() ELSE f.started_at END,
    finished_at = EXCLUDED.finished_at;
