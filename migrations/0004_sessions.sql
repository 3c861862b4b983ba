-- Web sessions and login throttling, shared by every instance.

-- +goose Up

-- Sessions are looked up by the SHA-256 of their id: a copy of this table
-- does not let anyone sign in.
CREATE TABLE sessions (
    id_digest    bytea PRIMARY KEY CHECK (length(id_digest) = 32),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Failed logins per key (an account or a client address) in the current window.
CREATE TABLE login_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL
);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE sessions;
