-- Deployment-wide settings and four-eyes approvals.

-- +goose Up

-- One JSON document of settings: changed by admins through the API, every
-- change recorded in the audit trail.
CREATE TABLE settings (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);

-- Approvals of exact draft content, valid until the next publish.
CREATE TABLE policy_approvals (
    content_hash text NOT NULL CHECK (content_hash LIKE 'sha256:%'),
    approver     text NOT NULL,
    approved_at  timestamptz NOT NULL,
    PRIMARY KEY (content_hash, approver)
);

-- +goose Down
DROP TABLE policy_approvals;
DROP TABLE settings;
