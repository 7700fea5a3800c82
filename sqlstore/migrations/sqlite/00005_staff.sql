-- +goose Up
-- Staff API keys: only a SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id           TEXT   PRIMARY KEY,
    name         TEXT   NOT NULL,
    role         TEXT   NOT NULL,
    prefix       TEXT   NOT NULL,
    secret_hash  TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Every staff write, kept for accountability.
CREATE TABLE audit_log (
    id          TEXT    PRIMARY KEY, -- time-ordered
    key_id      TEXT    NOT NULL,
    key_name    TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    request_id  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX audit_log_key_id ON audit_log (key_id, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE api_keys;
