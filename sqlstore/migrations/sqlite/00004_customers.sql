-- +goose Up
-- Customer accounts. Emails are stored trimmed and lower-cased; the password
-- is an argon2id PHC string and never leaves the store except for checking.
CREATE TABLE customers (
    id                TEXT    PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE, -- BINARY collation: prefix ranges compare bytes
    name              TEXT    NOT NULL DEFAULT '',
    market            TEXT    NOT NULL DEFAULT '',
    accepts_marketing INTEGER NOT NULL DEFAULT 0,
    password_hash     TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);

-- Sessions are found by the SHA-256 of their token; the token itself is
-- never stored.
CREATE TABLE customer_sessions (
    id          TEXT   PRIMARY KEY,
    customer_id TEXT   NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    token_hash  TEXT   NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX customer_sessions_customer_id ON customer_sessions (customer_id);
CREATE INDEX customer_sessions_expires_at ON customer_sessions (expires_at);

CREATE TABLE customer_addresses (
    id          TEXT   PRIMARY KEY,
    customer_id TEXT   NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    line1       TEXT   NOT NULL,
    line2       TEXT   NOT NULL DEFAULT '',
    city        TEXT   NOT NULL,
    region      TEXT   NOT NULL DEFAULT '',
    postal_code TEXT   NOT NULL DEFAULT '',
    country     TEXT   NOT NULL,
    phone       TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX customer_addresses_customer_id ON customer_addresses (customer_id, id);

-- +goose Down
DROP TABLE customer_addresses;
DROP TABLE customer_sessions;
DROP TABLE customers;
