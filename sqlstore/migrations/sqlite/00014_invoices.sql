-- +goose Up
-- Invoices: one per subscription and period (the unique key makes billing a
-- period twice impossible). Each charge attempt is a payment whose reference
-- is the invoice ID; payment_id is the latest attempt.
CREATE TABLE invoices (
    id              TEXT    PRIMARY KEY,
    subscription_id TEXT    NOT NULL REFERENCES subscriptions (id),
    customer_id     TEXT    NOT NULL,
    plan_id         TEXT    NOT NULL,
    period          INTEGER NOT NULL,
    period_start    BIGINT  NOT NULL,
    period_end      BIGINT  NOT NULL,
    currency        TEXT    NOT NULL,
    price           BIGINT  NOT NULL,
    adjustment      BIGINT  NOT NULL,
    total           BIGINT  NOT NULL CHECK (total >= 0),
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    first_failed_at BIGINT,
    next_attempt_at BIGINT,             -- NULL while a charge is in flight or once settled
    awaiting_method INTEGER NOT NULL DEFAULT 0,
    last_decline    TEXT    NOT NULL DEFAULT '',
    payment_id      TEXT    NOT NULL DEFAULT '',
    order_id        TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    UNIQUE (subscription_id, period)
);
CREATE INDEX invoices_customer ON invoices (customer_id, id);
-- The billing run finds the retries that are due.
CREATE INDEX invoices_due ON invoices (status, next_attempt_at);

-- +goose Down
DROP TABLE invoices;
