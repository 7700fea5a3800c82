-- +goose Up
-- Payments: one row per attempt to take money. The row and its idempotency
-- key commit before the gateway is called; the outcome is recorded after.
CREATE TABLE payments (
    id               TEXT    PRIMARY KEY,
    reference        TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    amount           BIGINT  NOT NULL CHECK (amount > 0),
    currency         TEXT    NOT NULL,
    capture          BOOLEAN NOT NULL,
    method_token     TEXT    NOT NULL,
    method_brand     TEXT    NOT NULL,
    method_last4     TEXT    NOT NULL,
    method_exp_month INTEGER NOT NULL,
    method_exp_year  INTEGER NOT NULL,
    description      TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    gateway          TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    charge_id        TEXT    NOT NULL,
    captured         BIGINT  NOT NULL,
    refunded         BIGINT  NOT NULL,
    failure_type     TEXT    NOT NULL,
    failure_message  TEXT    NOT NULL,
    hard_decline     BOOLEAN NOT NULL,
    attempts         INTEGER NOT NULL,
    locked_until     BIGINT  NOT NULL, -- lease of the caller talking to the gateway
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    settled_at       BIGINT,
    -- Refunds never exceed what was captured; captures never exceed the amount.
    CHECK (refunded >= 0 AND refunded <= captured AND captured <= amount)
);
CREATE INDEX payments_reference ON payments (reference);
CREATE INDEX payments_status ON payments (status, id);
CREATE INDEX payments_due ON payments (updated_at) WHERE status IN ('pending', 'in_doubt');

CREATE TABLE payment_refunds (
    id              TEXT   PRIMARY KEY,
    payment_id      TEXT   NOT NULL REFERENCES payments (id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT   NOT NULL,
    reason          TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    idempotency_key TEXT   NOT NULL UNIQUE,
    gateway_id      TEXT   NOT NULL,
    failure_type    TEXT   NOT NULL,
    failure_message TEXT   NOT NULL,
    locked_until    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX payment_refunds_payment ON payment_refunds (payment_id, id);
CREATE INDEX payment_refunds_due ON payment_refunds (updated_at) WHERE status = 'pending';

-- The built-in test gateway's ledger. It plays an external processor: it is
-- written in transactions of its own, never in the caller's, so it survives
-- a crash of the caller and can be counted after a restart.
CREATE TABLE test_gateway_charges (
    id              TEXT   PRIMARY KEY,
    idempotency_key TEXT   NOT NULL UNIQUE,
    reference       TEXT   NOT NULL,
    token           TEXT   NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT   NOT NULL,
    status          TEXT   NOT NULL, -- authorized, captured, declined, voided
    captured        BIGINT NOT NULL,
    refunded        BIGINT NOT NULL,
    decline_type    TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CHECK (refunded >= 0 AND refunded <= captured AND captured <= amount)
);
CREATE INDEX test_gateway_charges_reference ON test_gateway_charges (reference);

CREATE TABLE test_gateway_refunds (
    id              TEXT   PRIMARY KEY,
    idempotency_key TEXT   NOT NULL UNIQUE,
    charge_id       TEXT   NOT NULL REFERENCES test_gateway_charges (id),
    amount          BIGINT NOT NULL,
    currency        TEXT   NOT NULL,
    created_at      BIGINT NOT NULL
);

-- +goose Down
DROP TABLE test_gateway_refunds;
DROP TABLE test_gateway_charges;
DROP TABLE payment_refunds;
DROP TABLE payments;
