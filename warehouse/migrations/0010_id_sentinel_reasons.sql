-- =============================================================================
-- 0010_id_sentinel_reasons.sql — an actor/repository id that is not a GitHub id gets a reason
-- that says why (negative, larger than a BIGINT, not a whole number) instead of 'not a BIGINT'
-- (silver/ddl.sql). Reasons already stored in silver.events are left as they are.
-- =============================================================================
-- Why an actor or repository id is not a GitHub id (silver.github_id() is NULL), as a sentinel
-- reason '<field> <why>: -1'; NULL when it is one. GitHub's ids are positive whole numbers.
CREATE OR REPLACE FUNCTION silver.id_sentinel_reason(p_field TEXT, p_id TEXT) RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN silver.github_id(p_id) IS NOT NULL THEN NULL
                WHEN p_id ~ '^-[0-9]+$' THEN p_field || ' negative, not a GitHub id: -1'
                WHEN p_id ~ '^[0-9]+$' THEN p_field || ' larger than a BIGINT: -1'
                ELSE p_field || ' not a whole number: -1' END
$$;

-- The sentinels of a legacy Timeline event (the modern ones are silver.sentinel_reason()).
-- p_repository_type: jsonb_typeof(repository) (NULL when missing); p_repo_id: repository.id as text.
CREATE OR REPLACE FUNCTION silver.legacy_sentinel_reason(p_type JSONB, p_actor_id TEXT, p_repository_type TEXT,
                                                         p_repo_id TEXT)
RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULLIF(concat_ws('; ',
        CASE WHEN COALESCE(jsonb_typeof(p_type), 'null') = 'null' THEN 'type missing: Unknown'
             WHEN jsonb_typeof(p_type) = 'string' AND btrim(p_type #>> '{}') = '' THEN 'type empty: Unknown' END,
        CASE WHEN p_actor_id IS NULL THEN 'actor login missing: -1' END,
        CASE WHEN COALESCE(p_repository_type, 'null') = 'null' THEN 'repository missing: -1'
             WHEN p_repository_type <> 'object' THEN 'repository not an object: -1'
             WHEN p_repo_id IS NULL THEN 'repository.id missing: -1'
             ELSE silver.id_sentinel_reason('repository.id', p_repo_id) END), '')
$$;

-- Which values of an event that gold takes become sentinels, and why; NULL when none do.
CREATE OR REPLACE FUNCTION silver.sentinel_reason(p_type JSONB, p_actor_id TEXT, p_repo_id TEXT)
RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULLIF(concat_ws('; ',
        CASE WHEN COALESCE(jsonb_typeof(p_type), 'null') = 'null' THEN 'type missing: Unknown'
             WHEN jsonb_typeof(p_type) = 'string' AND btrim(p_type #>> '{}') = '' THEN 'type empty: Unknown' END,
        CASE WHEN p_actor_id IS NULL THEN 'actor.id missing: -1'
             ELSE silver.id_sentinel_reason('actor.id', p_actor_id) END,
        CASE WHEN p_repo_id IS NULL THEN 'repo.id missing: -1'
             ELSE silver.id_sentinel_reason('repo.id', p_repo_id) END), '')
$$;

GRANT EXECUTE ON FUNCTION silver.id_sentinel_reason(TEXT, TEXT) TO gh_etl;
