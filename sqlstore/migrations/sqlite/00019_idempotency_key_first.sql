-- +goose Up
-- The key first, as on PostgreSQL (see its migration): SQLite changes a
-- primary key by copying the table.
CREATE TABLE idempotency_keys_new (
    scope         TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    content_type  TEXT    NOT NULL DEFAULT '',
    location      TEXT    NOT NULL DEFAULT '',
    body          BLOB,
    locked_at     BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (key, scope)
);
INSERT INTO idempotency_keys_new SELECT scope, key, request_hash, status, content_type, location, body, locked_at, created_at, expires_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- +goose Down
CREATE TABLE idempotency_keys_old (
    scope         TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    content_type  TEXT    NOT NULL DEFAULT '',
    location      TEXT    NOT NULL DEFAULT '',
    body          BLOB,
    locked_at     BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);
INSERT INTO idempotency_keys_old SELECT scope, key, request_hash, status, content_type, location, body, locked_at, created_at, expires_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_old RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
