-- Decision-log audits: indexes for the typical searches, masking, exact
-- statistics rollups, impact-analysis jobs.

-- +goose Up

-- Newest-first paging reads this index backwards from the page's cursor, so
-- a page costs the same at any depth and any volume. A subject's history
-- and a reason's rows have their own.
CREATE INDEX decision_logs_recent ON decision_logs (decided_at, decision_id);
CREATE INDEX decision_logs_subject ON decision_logs (subject, decided_at, decision_id) WHERE subject IS NOT NULL;
CREATE INDEX decision_logs_reasons ON decision_logs USING gin (reason_codes);

-- The input paths masked before storage (JSON pointers, e.g. /input/subject/id).
ALTER TABLE decision_logs ADD COLUMN masked text[] NOT NULL DEFAULT '{}';

-- Statistics are kept exact by the database itself: every statement that
-- inserts or deletes log rows adds its counts (negative for deletes) to
-- decision_stats_pending in the same transaction, whatever wrote them
-- (the decision API, agent uploads, spool replays, seeding). A job folds the
-- pending counts into decision_stats per minute, hour and day; readers add
-- what is still pending, so a count never lags the log.
--   dim: outcome | reason | region | source | purpose | revision
--   value: the dimension's value ('' for outcome and for absent columns)
--   outcome: allow | deny | undefined
CREATE TABLE decision_stats_pending (
    bucket  timestamptz NOT NULL,
    dim     text NOT NULL,
    value   text NOT NULL,
    outcome text NOT NULL,
    n       bigint NOT NULL
);

CREATE TABLE decision_stats (
    grain   text NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    dim     text NOT NULL,
    bucket  timestamptz NOT NULL,
    value   text NOT NULL,
    outcome text NOT NULL,
    n       bigint NOT NULL,
    -- Covering: a chart reads its range from the index alone, in order.
    PRIMARY KEY (grain, dim, bucket, value, outcome) INCLUDE (n)
);
-- Folds update rows all the time; frequent vacuums keep the visibility map,
-- and so the index-only reads, current.
ALTER TABLE decision_stats SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);

-- Inserted rows count up, deleted rows count down: one pass over the
-- statement's rows per dimension family, grouping sets for the columns. The
-- delete function mirrors the insert one: a transition table can only be
-- named in static SQL, and dynamic SQL would be planned on every batch.
-- +goose StatementBegin
CREATE FUNCTION decision_logs_count_inserts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO decision_stats_pending (bucket, dim, value, outcome, n)
    WITH r AS (
        SELECT date_trunc('minute', decided_at, 'UTC') AS m,
               CASE WHEN allow THEN 'allow' WHEN NOT allow THEN 'deny' ELSE 'undefined' END AS outcome,
               coalesce(region, '') AS region, coalesce(source, '') AS source,
               coalesce(purpose, '') AS purpose, revision, reason_codes
        FROM new_rows
    )
    SELECT m,
           CASE WHEN GROUPING(region) = 0 THEN 'region' WHEN GROUPING(source) = 0 THEN 'source'
                WHEN GROUPING(purpose) = 0 THEN 'purpose' WHEN GROUPING(revision) = 0 THEN 'revision' ELSE 'outcome' END,
           CASE WHEN GROUPING(region) = 0 THEN region WHEN GROUPING(source) = 0 THEN source
                WHEN GROUPING(purpose) = 0 THEN purpose WHEN GROUPING(revision) = 0 THEN revision ELSE '' END,
           outcome, count(*)
    FROM r
    GROUP BY GROUPING SETS ((m, outcome), (m, outcome, region), (m, outcome, source), (m, outcome, purpose), (m, outcome, revision))
    UNION ALL
    SELECT m, 'reason', code, outcome, count(*)
    FROM r, unnest(r.reason_codes) AS code
    GROUP BY m, code, outcome;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION decision_logs_count_deletes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO decision_stats_pending (bucket, dim, value, outcome, n)
    WITH r AS (
        SELECT date_trunc('minute', decided_at, 'UTC') AS m,
               CASE WHEN allow THEN 'allow' WHEN NOT allow THEN 'deny' ELSE 'undefined' END AS outcome,
               coalesce(region, '') AS region, coalesce(source, '') AS source,
               coalesce(purpose, '') AS purpose, revision, reason_codes
        FROM old_rows
    )
    SELECT m,
           CASE WHEN GROUPING(region) = 0 THEN 'region' WHEN GROUPING(source) = 0 THEN 'source'
                WHEN GROUPING(purpose) = 0 THEN 'purpose' WHEN GROUPING(revision) = 0 THEN 'revision' ELSE 'outcome' END,
           CASE WHEN GROUPING(region) = 0 THEN region WHEN GROUPING(source) = 0 THEN source
                WHEN GROUPING(purpose) = 0 THEN purpose WHEN GROUPING(revision) = 0 THEN revision ELSE '' END,
           outcome, - count(*)
    FROM r
    GROUP BY GROUPING SETS ((m, outcome), (m, outcome, region), (m, outcome, source), (m, outcome, purpose), (m, outcome, revision))
    UNION ALL
    SELECT m, 'reason', code, outcome, - count(*)
    FROM r, unnest(r.reason_codes) AS code
    GROUP BY m, code, outcome;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER decision_logs_count_inserts AFTER INSERT ON decision_logs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION decision_logs_count_inserts();
CREATE TRIGGER decision_logs_count_deletes AFTER DELETE ON decision_logs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION decision_logs_count_deletes();

-- +goose StatementBegin
-- fold_decision_stats moves the pending counts into decision_stats and
-- returns how many pending rows it folded. Counts inserted meanwhile stay
-- pending for the next fold (the DELETE sees only what it folds).
CREATE FUNCTION fold_decision_stats() RETURNS bigint
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM decision_stats_pending RETURNING *
    ), folded AS (
        INSERT INTO decision_stats AS s (grain, dim, bucket, value, outcome, n)
        SELECT g.grain, m.dim, date_trunc(g.grain, m.bucket, 'UTC'), m.value, m.outcome, sum(m.n)
        FROM moved m
        CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g (grain)
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (grain, dim, bucket, value, outcome) DO UPDATE SET n = s.n + excluded.n
        RETURNING 1
    )
    SELECT count(*) FROM moved;
$$;
-- +goose StatementEnd

-- Impact analyses: any instance answers for a job another one runs.
CREATE TABLE impact_jobs (
    id              uuid PRIMARY KEY,
    created_at      timestamptz NOT NULL,
    created_by      text NOT NULL,
    node            text NOT NULL,
    draft_hash      text NOT NULL,
    active_revision text NOT NULL,
    params          jsonb NOT NULL,
    state           text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    total           bigint NOT NULL DEFAULT 0,
    done            bigint NOT NULL DEFAULT 0,
    result          jsonb,
    error           text,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
CREATE INDEX impact_jobs_draft ON impact_jobs (draft_hash, created_at);

-- The key of the keyed hash that masks input values. It is a key, not a
-- credential: subjects' masked ids can only be linked, or looked up, with it.
CREATE TABLE masking_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key       bytea NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE masking_key;
DROP TABLE impact_jobs;
DROP TRIGGER decision_logs_count_deletes ON decision_logs;
DROP TRIGGER decision_logs_count_inserts ON decision_logs;
DROP FUNCTION decision_logs_count_deletes();
DROP FUNCTION decision_logs_count_inserts();
DROP FUNCTION fold_decision_stats();
DROP TABLE decision_stats;
DROP TABLE decision_stats_pending;
ALTER TABLE decision_logs DROP COLUMN masked;
DROP INDEX decision_logs_reasons;
DROP INDEX decision_logs_subject;
DROP INDEX decision_logs_recent;
