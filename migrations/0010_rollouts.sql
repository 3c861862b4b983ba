-- Progressive rollouts: a candidate revision decides for a stable share of
-- subjects, compared with the active revision on the same inputs.

-- +goose Up
CREATE TABLE rollouts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    candidate  bigint NOT NULL REFERENCES policy_revisions (revision),
    baseline   bigint NOT NULL REFERENCES policy_revisions (revision),
    -- [{"percent": 1, "at": "..."}, ...] in time order: the share in force
    -- at an instant is that of the last step at or before it.
    steps      jsonb NOT NULL,
    state      text NOT NULL CHECK (state IN ('running', 'completed', 'rolled_back', 'cancelled')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    ended_at   timestamptz,
    ended_by   text,
    end_reason text
);
-- One rollout runs at a time.
CREATE UNIQUE INDEX rollouts_one_running ON rollouts (state) WHERE state = 'running';

-- Per minute, the decisions the candidate made and how the active revision
-- (the baseline) decided the same inputs.
CREATE TABLE rollout_counts (
    rollout          bigint NOT NULL REFERENCES rollouts (id),
    bucket           timestamptz NOT NULL,
    decisions        bigint NOT NULL,
    candidate_denied bigint NOT NULL,
    baseline_denied  bigint NOT NULL,
    candidate_errors bigint NOT NULL,
    baseline_errors  bigint NOT NULL,
    disagreed        bigint NOT NULL,
    PRIMARY KEY (rollout, bucket)
);

-- A rollout's disagreements are kept beside shadow evaluation's.
ALTER TABLE shadow_disagreements ADD COLUMN rollout bigint REFERENCES rollouts (id);
CREATE INDEX shadow_disagreements_rollout ON shadow_disagreements (rollout, decided_at) WHERE rollout IS NOT NULL;

-- +goose Down
DROP INDEX shadow_disagreements_rollout;
ALTER TABLE shadow_disagreements DROP COLUMN rollout;
DROP TABLE rollout_counts;
DROP TABLE rollouts;
