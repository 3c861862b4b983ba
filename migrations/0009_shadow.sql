-- Shadow evaluation: a candidate revision decides beside the active one,
-- off the response path; disagreements are kept and counted.

-- +goose Up
CREATE TABLE shadow_counts (
    bucket    timestamptz NOT NULL,
    candidate text NOT NULL,
    evaluated bigint NOT NULL,
    disagreed bigint NOT NULL,
    PRIMARY KEY (bucket, candidate)
);

CREATE TABLE shadow_disagreements (
    decision_id       uuid NOT NULL,
    decided_at        timestamptz NOT NULL,
    candidate         text NOT NULL,
    active            text NOT NULL,
    region            text NOT NULL,
    source            text NOT NULL,
    purpose           text NOT NULL,
    active_allow      boolean NOT NULL,
    candidate_allow   boolean NOT NULL,
    active_reasons    text[] NOT NULL,
    candidate_reasons text[] NOT NULL,
    changed_codes     text[] NOT NULL -- codes in one answer and not the other
);
CREATE INDEX shadow_disagreements_at ON shadow_disagreements (candidate, decided_at);

-- +goose Down
DROP TABLE shadow_disagreements;
DROP TABLE shadow_counts;
