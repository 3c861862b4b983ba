-- Tamper evidence for the decision log: a checkpoint per committed batch,
-- hash-chained; the log is insert-only for every role but its owner.

-- +goose Up

-- decision_log_canon is the form of a row its checkpoint hashes: every column
-- but the subject id (the subject column and the input's subject.id), which
-- erasure removes on purpose. Free text is length-prefixed, so no two rows
-- share a form; time is in microseconds, the same in every session. It takes
-- columns rather than the row: a plain SQL function of scalars is inlined,
-- and a whole-row argument would copy every row first (twice the cost).
-- +goose StatementBegin
CREATE FUNCTION decision_log_canon(id uuid, at timestamptz, path text, input jsonb, result jsonb, allow boolean,
    codes text[], source text, purpose text, region text, revision text, client text, node text, eval_ns bigint, masked text[])
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT concat_ws(E'\x1f', id, (extract(epoch FROM at) * 1000000)::bigint, length(path), path,
        (input #- '{subject,id}')::text, result::text, allow,
        length(array_to_string(codes, ',')), array_to_string(codes, ','),
        length(source), source, length(purpose), purpose, length(region), region,
        length(revision), revision, length(client), client, length(node), node, eval_ns,
        array_to_string(array_remove(masked, '/input/subject/id'), ','))
$$;
-- +goose StatementEnd

-- One row per committed batch. A chain is one database session's sequence
-- of batches (each session commits one batch at a time, so instances and
-- their flushers never wait on each other); batch_hash = sha256(prev_hash,
-- the batch's rows in decision id order). ids and decided_ats name the rows.
CREATE TABLE decision_log_checkpoints (
    chain       uuid NOT NULL,
    seq         bigint NOT NULL,
    node        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rows        integer NOT NULL,
    ids         uuid[] NOT NULL,
    decided_ats timestamptz[] NOT NULL,
    prev_hash   text NOT NULL,
    batch_hash  text NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX decision_log_checkpoints_ids ON decision_log_checkpoints USING gin (ids);

-- +goose StatementBegin
CREATE FUNCTION decision_logs_checkpoint() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    chain uuid := nullif(current_setting('signalgate.log_chain', true), '')::uuid;
    seq   bigint := coalesce(nullif(current_setting('signalgate.log_chain_seq', true), '')::bigint, 0) + 1;
    prev  text := coalesce(nullif(current_setting('signalgate.log_chain_head', true), ''), 'genesis');
    cp    decision_log_checkpoints;
BEGIN
    IF chain IS NULL THEN
        chain := gen_random_uuid();
        seq := 1;
        prev := 'genesis';
    END IF;
    SELECT chain, seq, min(r.node), now(), count(*), array_agg(r.decision_id ORDER BY r.decision_id),
           array_agg(r.decided_at ORDER BY r.decision_id), prev,
           encode(sha256(convert_to(prev || E'\n' || string_agg(decision_log_canon(r.decision_id, r.decided_at, r.path, r.input, r.result, r.allow, r.reason_codes,
               r.source, r.purpose, r.region, r.revision, r.client, r.node, r.eval_ns, r.masked), E'\n' ORDER BY r.decision_id), 'UTF8')), 'hex')
    INTO cp FROM new_rows r;
    IF cp.rows = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO decision_log_checkpoints VALUES (cp.*);
    -- Session settings roll back with the transaction: a batch that does not
    -- commit does not advance its chain.
    PERFORM set_config('signalgate.log_chain', chain::text, false),
            set_config('signalgate.log_chain_seq', seq::text, false),
            set_config('signalgate.log_chain_head', cp.batch_hash, false);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER decision_logs_checkpoint AFTER INSERT ON decision_logs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION decision_logs_checkpoint();

-- Insert-only: only the owner (migrations, partition upkeep, retention,
-- erasure, all of which record what they remove) may change or delete log
-- rows and checkpoints. Grants to other roles keep SELECT and INSERT.
-- +goose StatementBegin
CREATE FUNCTION decision_log_insert_only(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT r.rolname FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = tbl AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM %I', tbl, grantee);
    END LOOP;
END;
$$;
-- +goose StatementEnd

SELECT decision_log_insert_only(c.oid::regclass)
FROM pg_class c
WHERE c.relname IN ('decision_logs', 'decision_log_checkpoints')
   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'decision_logs'::regclass);

-- Partitions created from now on are insert-only as well.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ensure_decision_log_partitions(from_ts timestamptz, days integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day     date;
    name    text;
    created integer := 0;
BEGIN
    FOR i IN 0 .. days - 1 LOOP
        day := (from_ts AT TIME ZONE 'UTC')::date + i;
        name := 'decision_logs_p' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(name) IS NOT NULL;
        IF EXISTS (SELECT 1 FROM decision_logs_default
                   WHERE decided_at >= (day::timestamp AT TIME ZONE 'UTC')
                     AND decided_at < ((day + 1)::timestamp AT TIME ZONE 'UTC')) THEN
            RAISE NOTICE 'decision log partition % skipped: its day has rows in the default partition', name;
            CONTINUE;
        END IF;
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF decision_logs FOR VALUES FROM (%L) TO (%L)',
            name,
            day::timestamp AT TIME ZONE 'UTC',
            (day + 1)::timestamp AT TIME ZONE 'UTC');
        PERFORM decision_log_insert_only(name::regclass);
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER decision_logs_checkpoint ON decision_logs;
DROP FUNCTION decision_logs_checkpoint();
DROP TABLE decision_log_checkpoints;
DROP FUNCTION decision_log_canon(uuid, timestamptz, text, jsonb, jsonb, boolean, text[], text, text, text, text, text, text, bigint, text[]);
-- ensure_decision_log_partitions keeps calling decision_log_insert_only,
-- which stays: dropping it would break partition upkeep.
