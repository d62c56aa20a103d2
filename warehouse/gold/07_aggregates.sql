-- =============================================================================
-- gold/07_aggregates.sql — aggregate fact tables for the dashboards: the answers of
-- Q1 (daily volume) and Q2 (top repositories this month), kept exact and current
-- by the gold ETL, so a dashboard reads a few rows instead of every event.
--
-- Q1 and Q2 count distinct actors and repositories. Distinct counts cannot be summed
-- from smaller counts, so each one is kept with its set of distinct pairs: a pair is
-- inserted once (ON CONFLICT DO NOTHING) and only a newly inserted pair raises the count.
--
-- gold.agg_daily_actors         grain: one row per (day, actor) with at least one event.
-- gold.agg_daily_repos          grain: one row per (day, repository) with at least one event.
-- gold.agg_daily_activity       grain: one row per day: events, distinct actors, distinct repositories.
-- gold.agg_monthly_repo_actors  grain: one row per (month, repository, actor).
-- gold.agg_monthly_repo_activity grain: one row per (month, repository): events, distinct actors.
--   written: master_gold_etl.sql (gold.fold_facts, same transaction as the facts);
--            gold.rebuild_aggregates() (setup_db on first install, operators after repairs).
--   read:    warehouse/queries/fast/*.sql (Metabase's Q1/Q2 cards, analytics.py --fast),
--            tests that compare them with the specification's queries.
-- Sentinel members (-1) count as one actor / repository, exactly as COUNT(DISTINCT) does.
-- A month is keyed by its first day (month_start), derived from date_id like dim_date's.
-- Idempotent: CREATE IF NOT EXISTS; the first install fills them from existing facts.
-- =============================================================================

CREATE SCHEMA IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS gold.agg_daily_actors (
    date_id   INT    NOT NULL,
    actor_id  BIGINT NOT NULL,
    CONSTRAINT pk_agg_daily_actors PRIMARY KEY (date_id, actor_id)
);

CREATE TABLE IF NOT EXISTS gold.agg_daily_repos (
    date_id   INT    NOT NULL,
    repo_id   BIGINT NOT NULL,
    CONSTRAINT pk_agg_daily_repos PRIMARY KEY (date_id, repo_id)
);

CREATE TABLE IF NOT EXISTS gold.agg_daily_activity (
    date_id       INT    NOT NULL,
    total_events  BIGINT NOT NULL,
    unique_users  BIGINT NOT NULL,
    unique_repos  BIGINT NOT NULL,
    CONSTRAINT pk_agg_daily_activity PRIMARY KEY (date_id),
    CONSTRAINT fk_agg_daily_activity_date_id FOREIGN KEY (date_id) REFERENCES gold.dim_date (date_id)
);

CREATE TABLE IF NOT EXISTS gold.agg_monthly_repo_actors (
    month_start  DATE   NOT NULL,
    repo_id      BIGINT NOT NULL,
    actor_id     BIGINT NOT NULL,
    CONSTRAINT pk_agg_monthly_repo_actors PRIMARY KEY (month_start, repo_id, actor_id)
);

CREATE TABLE IF NOT EXISTS gold.agg_monthly_repo_activity (
    month_start   DATE   NOT NULL,
    repo_id       BIGINT NOT NULL,
    total_events  BIGINT NOT NULL,
    contributors  BIGINT NOT NULL,
    CONSTRAINT pk_agg_monthly_repo_activity PRIMARY KEY (month_start, repo_id),
    CONSTRAINT fk_agg_monthly_repo_activity_repo_id FOREIGN KEY (repo_id) REFERENCES gold.dim_repos (repo_id)
);

-- Q2's top 10: the month's busiest repositories straight from the index.
CREATE INDEX IF NOT EXISTS idx_agg_monthly_repo_activity_top
    ON gold.agg_monthly_repo_activity (month_start, total_events DESC);

-- Folds the facts of p_facts into every aggregate. p_facts names a table or view (a temp
-- table, gold.fact_events, ...) with columns date_id, actor_id, repo_id: one row per fact that is
-- new to the aggregates (each exactly once, or it is counted twice). Set-based, two statements
-- (dynamic only in the relation's name, which regclass quotes; %% is format's %). Returns the aggregate rows written.
CREATE OR REPLACE FUNCTION gold.fold_facts(p_facts REGCLASS)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_days BIGINT;
    v_repo_months BIGINT;
BEGIN
    EXECUTE format($sql$
    WITH new_actor_days AS (
        INSERT INTO gold.agg_daily_actors (date_id, actor_id)
        SELECT DISTINCT n.date_id, n.actor_id FROM %1$s AS n
        ON CONFLICT DO NOTHING
        RETURNING date_id
    ), new_repo_days AS (
        INSERT INTO gold.agg_daily_repos (date_id, repo_id)
        SELECT DISTINCT n.date_id, n.repo_id FROM %1$s AS n
        ON CONFLICT DO NOTHING
        RETURNING date_id
    ), per_day AS (
        SELECT date_id, SUM(events) AS events, SUM(users) AS users, SUM(repos) AS repos
          FROM (SELECT date_id, COUNT(*) AS events, 0 AS users, 0 AS repos
                  FROM %1$s GROUP BY date_id
                UNION ALL
                SELECT date_id, 0, COUNT(*), 0 FROM new_actor_days GROUP BY date_id
                UNION ALL
                SELECT date_id, 0, 0, COUNT(*) FROM new_repo_days GROUP BY date_id) AS parts
         GROUP BY date_id
    )
    INSERT INTO gold.agg_daily_activity AS a (date_id, total_events, unique_users, unique_repos)
    SELECT date_id, events, users, repos FROM per_day
    ON CONFLICT (date_id) DO UPDATE
       SET total_events = a.total_events + EXCLUDED.total_events,
           unique_users = a.unique_users + EXCLUDED.unique_users,
           unique_repos = a.unique_repos + EXCLUDED.unique_repos
    $sql$, p_facts);
    GET DIAGNOSTICS v_days = ROW_COUNT;

    EXECUTE format($sql$
    WITH monthly AS (
        SELECT make_date(n.date_id / 10000, n.date_id / 100 %% 100, 1) AS month_start, n.repo_id, n.actor_id
          FROM %1$s AS n
    ), new_contributors AS (
        INSERT INTO gold.agg_monthly_repo_actors (month_start, repo_id, actor_id)
        SELECT DISTINCT month_start, repo_id, actor_id FROM monthly
        ON CONFLICT DO NOTHING
        RETURNING month_start, repo_id
    ), per_repo_month AS (
        SELECT month_start, repo_id, SUM(events) AS events, SUM(contributors) AS contributors
          FROM (SELECT month_start, repo_id, COUNT(*) AS events, 0 AS contributors
                  FROM monthly GROUP BY month_start, repo_id
                UNION ALL
                SELECT month_start, repo_id, 0, COUNT(*)
                  FROM new_contributors GROUP BY month_start, repo_id) AS parts
         GROUP BY month_start, repo_id
    )
    INSERT INTO gold.agg_monthly_repo_activity AS a (month_start, repo_id, total_events, contributors)
    SELECT month_start, repo_id, events, contributors FROM per_repo_month
    ON CONFLICT (month_start, repo_id) DO UPDATE
       SET total_events = a.total_events + EXCLUDED.total_events,
           contributors = a.contributors + EXCLUDED.contributors
    $sql$, p_facts);
    GET DIAGNOSTICS v_repo_months = ROW_COUNT;

    RETURN v_days + v_repo_months;
END;
$$;

-- The same fold over the session's temp table gold_new_facts (the input before fold_facts took
-- it as an argument): kept for callers written against it; new code calls gold.fold_facts.
CREATE OR REPLACE FUNCTION gold.fold_new_facts()
RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
    RETURN gold.fold_facts('pg_temp.gold_new_facts');
END;
$$;

-- Recomputes every aggregate from gold.fact_events (first install, or after a repair).
-- Takes the gold watermark's row lock, so it never interleaves with a gold ETL run.
CREATE OR REPLACE FUNCTION gold.rebuild_aggregates()
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_facts BIGINT;
BEGIN
    PERFORM 1 FROM gold.etl_watermark WHERE pipeline = 'gold.fact_events' FOR UPDATE;
    TRUNCATE gold.agg_daily_actors, gold.agg_daily_repos, gold.agg_daily_activity,
             gold.agg_monthly_repo_actors, gold.agg_monthly_repo_activity;
    SELECT COUNT(*) INTO v_facts FROM gold.fact_events;
    PERFORM gold.fold_facts('gold.fact_events'::REGCLASS);
    RETURN v_facts;
END;
$$;

-- First install on a warehouse that already holds facts: fill the aggregates once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM gold.agg_daily_activity)
       AND EXISTS (SELECT 1 FROM gold.fact_events) THEN
        RAISE NOTICE 'gold aggregates: filled from % existing facts', gold.rebuild_aggregates();
    END IF;
END;
$$;
