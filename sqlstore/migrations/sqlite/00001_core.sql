-- +goose Up
-- Idempotency keys (Stripe semantics): the first response to a POST is kept
-- for 24 hours and replayed for the same caller, key and parameters.
CREATE TABLE idempotency_keys (
    scope         TEXT    NOT NULL, -- the caller: customer ID, staff key ID, or "guest"
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL, -- SHA-256 of method, path and body
    status        INTEGER NOT NULL DEFAULT 0, -- HTTP status; 0 while the first request runs
    content_type  TEXT    NOT NULL DEFAULT '',
    location      TEXT    NOT NULL DEFAULT '',
    body          BLOB,
    locked_at     BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
