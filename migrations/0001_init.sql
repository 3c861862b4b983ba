-- The foundation: identities, policy revisions and the decision log.

-- +goose Up

-- Users sign in to the admin UI (password) or act through API tokens.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name <> ''),
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- A user may hold several roles; the inclusions (publisher ⊇ editor ⊇ viewer)
-- are applied in code, so each row is exactly what an admin granted.
CREATE TABLE user_roles (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'publisher', 'editor', 'viewer', 'decider', 'agent')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role)
);

-- API tokens are kept only as SHA-256 digests: a 256-bit random secret needs
-- no slow hash, and the digest is looked up on every request.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    role         text NOT NULL CHECK (role IN ('admin', 'publisher', 'editor', 'viewer', 'decider', 'agent')),
    digest       bytea NOT NULL UNIQUE CHECK (length(digest) = 32),
    hint         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Revisions are immutable: modules keep the exact submitted source of every
-- file, so a replay evaluates the very bytes that decided.
CREATE TABLE policy_revisions (
    revision     bigint PRIMARY KEY CHECK (revision > 0),
    content_hash text NOT NULL CHECK (content_hash LIKE 'sha256:%'),
    modules      jsonb NOT NULL,
    data         jsonb NOT NULL,
    parent       bigint REFERENCES policy_revisions (revision),
    author_id    bigint REFERENCES users (id),
    author       text NOT NULL,
    message      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose StatementBegin
CREATE FUNCTION policy_revisions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'policy revisions are immutable';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER policy_revisions_no_update
    BEFORE UPDATE OR DELETE ON policy_revisions
    FOR EACH ROW EXECUTE FUNCTION policy_revisions_immutable();

-- Exactly one revision is active at any instant: a single-row table whose
-- key can only be true.
CREATE TABLE active_revision (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision     bigint NOT NULL REFERENCES policy_revisions (revision),
    activated_at timestamptz NOT NULL DEFAULT now(),
    activated_by text NOT NULL
);

-- One row per decision, partitioned by day so retention drops partitions and
-- the partition key is part of every unique key (ready for Citus).
CREATE TABLE decision_logs (
    decision_id  uuid NOT NULL,
    decided_at   timestamptz NOT NULL,
    path         text NOT NULL,
    input        jsonb,
    result       jsonb,
    allow        boolean,
    reason_codes text[] NOT NULL DEFAULT '{}',
    source       text,
    purpose      text,
    region       text,
    subject      text,
    revision     text NOT NULL,
    client       text NOT NULL,
    node         text NOT NULL,
    eval_ns      bigint NOT NULL,
    PRIMARY KEY (decision_id, decided_at)
) PARTITION BY RANGE (decided_at);

-- Late or far-future rows land here instead of failing the batch they are in.
CREATE TABLE decision_logs_default PARTITION OF decision_logs DEFAULT;

CREATE INDEX decision_logs_decided_at_brin ON decision_logs USING brin (decided_at);

-- ensure_decision_log_partitions creates the daily partitions from the day of
-- from_ts for the given number of days; existing ones are left alone. A day
-- whose rows already sit in the default partition is skipped (and reported)
-- rather than failing upkeep.
-- +goose StatementBegin
CREATE FUNCTION ensure_decision_log_partitions(from_ts timestamptz, days integer)
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
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;
-- +goose StatementEnd

SELECT ensure_decision_log_partitions(now() - interval '1 day', 9);

-- +goose Down
DROP TABLE decision_logs;
DROP FUNCTION ensure_decision_log_partitions(timestamptz, integer);
DROP TABLE active_revision;
DROP TABLE policy_revisions;
DROP FUNCTION policy_revisions_immutable();
DROP TABLE api_tokens;
DROP TABLE user_roles;
DROP TABLE users;
