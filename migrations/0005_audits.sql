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
--   dim: outcome | reason | region | source | purpose | revision | topic
--   value: the dimension's value ('' for outcome and for absent columns)
--   region: the row's region for topic counts (coverage by region), else ''
--   outcome: allow | deny | undefined
CREATE TABLE decision_stats_pending (
    bucket  timestamptz NOT NULL,
    dim     text NOT NULL,
    value   text NOT NULL,
    region  text NOT NULL,
    outcome text NOT NULL,
    n       bigint NOT NULL
);

-- Topic counts are kept per day only: they rank the taxonomy's gaps, and per
-- minute they would outnumber the rest many times over.
CREATE TABLE decision_stats (
    grain   text NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    dim     text NOT NULL,
    bucket  timestamptz NOT NULL,
    value   text NOT NULL,
    region  text NOT NULL,
    outcome text NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (grain, dim, bucket, value, region, outcome)
);

-- +goose StatementBegin
CREATE FUNCTION decision_logs_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One body for both transition tables: inserted rows count up, deleted
    -- rows count down.
    EXECUTE format($q$
        INSERT INTO decision_stats_pending (bucket, dim, value, region, outcome, n)
        SELECT date_trunc('minute', r.decided_at, 'UTC'), d.dim, d.value, d.region, r.outcome, $1 * count(*)
        FROM (SELECT decided_at, region, source, purpose, revision, reason_codes, input,
                     CASE WHEN allow THEN 'allow' WHEN NOT allow THEN 'deny' ELSE 'undefined' END AS outcome
              FROM %I) AS r
        CROSS JOIN LATERAL (
            VALUES ('outcome', '', ''),
                   ('region', coalesce(r.region, ''), ''),
                   ('source', coalesce(r.source, ''), ''),
                   ('purpose', coalesce(r.purpose, ''), ''),
                   ('revision', r.revision, '')
            UNION ALL
            SELECT 'reason', code, '' FROM unnest(r.reason_codes) AS code
            UNION ALL
            SELECT 'topic', left(lower(t), 100), coalesce(r.region, '')
            FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.input #> '{signal,topics}') = 'array'
                                                THEN r.input #> '{signal,topics}' END) AS t
        ) AS d (dim, value, region)
        GROUP BY 1, 2, 3, 4, 5
    $q$, CASE TG_OP WHEN 'DELETE' THEN 'old_rows' ELSE 'new_rows' END)
    USING CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER decision_logs_count_inserts AFTER INSERT ON decision_logs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION decision_logs_count();
CREATE TRIGGER decision_logs_count_deletes AFTER DELETE ON decision_logs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION decision_logs_count();

-- +goose StatementBegin
-- fold_decision_stats moves the pending counts into decision_stats and
-- returns how many pending rows it folded. Counts inserted meanwhile stay
-- pending for the next fold (the DELETE sees only what it folds).
CREATE FUNCTION fold_decision_stats() RETURNS bigint
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM decision_stats_pending RETURNING *
    ), folded AS (
        INSERT INTO decision_stats AS s (grain, dim, bucket, value, region, outcome, n)
        SELECT g.grain, m.dim, date_trunc(g.grain, m.bucket, 'UTC'), m.value, m.region, m.outcome, sum(m.n)
        FROM moved m
        CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g (grain)
        WHERE m.dim <> 'topic' OR g.grain = 'day'
        GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (grain, dim, bucket, value, region, outcome) DO UPDATE SET n = s.n + excluded.n
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
DROP FUNCTION decision_logs_count();
DROP FUNCTION fold_decision_stats();
DROP TABLE decision_stats;
DROP TABLE decision_stats_pending;
ALTER TABLE decision_logs DROP COLUMN masked;
DROP INDEX decision_logs_reasons;
DROP INDEX decision_logs_subject;
DROP INDEX decision_logs_recent;
