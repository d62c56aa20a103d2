-- =============================================================================
-- 0009_legacy_id_utc_and_actor.sql — the legacy Timeline synthetic id (bronze/ddl.sql) puts
-- created_at's UTC time in front ('notime' when created_at is missing or not a timestamp, so the
-- id is never NULL) and hashes the UTC time and silver's actor identity (actor, else
-- actor_attributes.login, lower-cased) instead of the raw created_at and actor.
--   Ids of legacy events already in bronze are not rewritten (bronze is append-only): reloading
--   legacy files stored under the old rule stores their events again under new ids. The legacy
--   format is new in this release; a warehouse that loaded legacy files before it should rebuild
--   bronze's legacy rows (or reload into a fresh warehouse) rather than load them again.
-- =============================================================================
-- created_at as a UTC timestamp, under silver's rule (silver.event_time_of(), silver/ddl.sql's
-- header: ISO 8601 with an optional offset, no offset is UTC), or NULL. The text always carries an
-- offset when cast, so the result never depends on the session's TimeZone.
CREATE OR REPLACE FUNCTION bronze.legacy_event_time(p_created_at JSONB) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$'
                  AND pg_input_is_valid(v, 'timestamptz')
                 THEN v END)::TIMESTAMPTZ AT TIME ZONE 'UTC'
      FROM (SELECT CASE WHEN jsonb_typeof(p_created_at) = 'string'
                        THEN CASE WHEN (p_created_at #>> '{}') ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
                                  THEN p_created_at #>> '{}' ELSE (p_created_at #>> '{}') || 'Z' END
                   END AS v) AS c
$$;

-- The actor identity of a legacy event, as silver reads it (silver/etl/load_silver_batch.sql and
-- silver.legacy_actor_id()): `actor` when a non-blank string, else actor_attributes.login when a
-- non-blank string; trimmed and lower-cased. NULL when there is none.
CREATE OR REPLACE FUNCTION bronze.legacy_actor_login(p_doc JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(COALESCE(CASE WHEN jsonb_typeof(p_doc -> 'actor') = 'string'
                               THEN NULLIF(btrim(p_doc ->> 'actor'), '') END,
                          CASE WHEN jsonb_typeof(p_doc -> 'actor_attributes' -> 'login') = 'string'
                               THEN NULLIF(btrim(p_doc -> 'actor_attributes' ->> 'login'), '') END))
$$;

CREATE OR REPLACE FUNCTION bronze.legacy_event_id(p_doc JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT bronze.legacy_id_prefix()
           || COALESCE(to_char(t.utc, 'YYYYMMDDHH24MISS'), 'notime') || '-'
           || md5('[' || concat_ws(',', COALESCE((p_doc -> 'type')::TEXT, 'null'),
                                        COALESCE(to_jsonb(bronze.legacy_actor_login(p_doc))::TEXT, 'null'),
                                        COALESCE((p_doc -> 'repository' -> 'id')::TEXT, 'null'),
                                        COALESCE(to_jsonb(t.utc)::TEXT, (p_doc -> 'created_at')::TEXT, 'null'),
                                        COALESCE((p_doc -> 'payload')::TEXT, 'null')) || ']')
      FROM (SELECT bronze.legacy_event_time(p_doc -> 'created_at') AS utc) AS t
$$;

GRANT EXECUTE ON FUNCTION bronze.legacy_event_time(JSONB), bronze.legacy_actor_login(JSONB) TO gh_ingestion;
