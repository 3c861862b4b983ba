-- Scheduled activations: a published revision becomes active at an instant.

-- +goose Up
CREATE TABLE activation_schedules (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision    bigint NOT NULL REFERENCES policy_revisions (revision),
    at          timestamptz NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'done', 'cancelled')),
    resolved_at timestamptz,
    resolved_by text
);
CREATE INDEX activation_schedules_pending ON activation_schedules (at) WHERE state = 'pending';

-- +goose Down
DROP TABLE activation_schedules;
