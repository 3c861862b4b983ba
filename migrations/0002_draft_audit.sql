-- The policy draft and the admin audit trail.

-- +goose Up

-- One working copy of the policy. Absent until first saved: until then the
-- draft is the active revision's content.
CREATE TABLE policy_draft (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    content_hash text NOT NULL CHECK (content_hash LIKE 'sha256:%'),
    modules      jsonb NOT NULL,
    data         jsonb NOT NULL,
    updated_at   timestamptz NOT NULL,
    updated_by   text NOT NULL
);

-- Every admin action, append-only. Each entry's hash covers its fields and
-- the previous entry's hash, so an edited, deleted or reordered entry breaks
-- the chain from there on.
CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY CHECK (seq > 0),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL,
    before_hash text NOT NULL DEFAULT '',
    after_hash  text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE policy_draft;
