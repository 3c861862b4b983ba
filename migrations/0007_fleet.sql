-- OPA agents: their latest status, and the uploaded events the log could
-- not take.

-- +goose Up
CREATE TABLE agents (
    id         text PRIMARY KEY,
    version    text NOT NULL DEFAULT '',
    revision   text NOT NULL DEFAULT '',
    plugins    jsonb NOT NULL DEFAULT '{}',
    errors     text[] NOT NULL DEFAULT '{}',
    report     jsonb NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);

-- An event of an upload that could not be stored: kept, counted and shown,
-- so one bad event never makes an agent retry its whole chunk forever.
CREATE TABLE decision_log_quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL,
    agent       text NOT NULL,
    reason      text NOT NULL,
    event       text NOT NULL
);
CREATE INDEX decision_log_quarantine_received ON decision_log_quarantine (received_at);

-- signalgate instances, as each reports itself every few seconds and at
-- every policy change: which revision it serves.
CREATE TABLE instances (
    node       text PRIMARY KEY,
    version    text NOT NULL,
    revision   text NOT NULL,
    started_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE instances;
DROP TABLE decision_log_quarantine;
DROP TABLE agents;
