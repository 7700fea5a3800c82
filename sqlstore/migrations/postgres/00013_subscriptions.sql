-- +goose Up
-- Subscription plans. Prices (market code → amount and currency) and the
-- fixed items of replenishment plans are JSON: they are always read and
-- written with their plan. Interval and kind never change once created.
CREATE TABLE plans (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    interval_unit  TEXT    NOT NULL,
    interval_count INTEGER NOT NULL CHECK (interval_count > 0),
    prices         TEXT    NOT NULL, -- JSON {"us": {"amount": 2900, "currency": "USD"}}
    trial_days     INTEGER NOT NULL CHECK (trial_days >= 0),
    kind           TEXT    NOT NULL,
    box_size       INTEGER NOT NULL DEFAULT 0,
    items          TEXT    NOT NULL, -- JSON [{"variant_id", "sku", "quantity"}]
    status         TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX plans_status ON plans (status, id);

-- Subscriptions. Times are UTC microseconds; periods are computed from the
-- anchor on the wall clock of time_zone (the market's zone when it started).
CREATE TABLE subscriptions (
    id                   TEXT    PRIMARY KEY,
    customer_id          TEXT    NOT NULL,
    plan_id              TEXT    NOT NULL REFERENCES plans (id),
    market               TEXT    NOT NULL,
    currency             TEXT    NOT NULL,
    price                BIGINT  NOT NULL CHECK (price >= 0),
    time_zone            TEXT    NOT NULL,
    interval_unit        TEXT    NOT NULL,
    interval_count       INTEGER NOT NULL,
    kind                 TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    anchor               BIGINT  NOT NULL,
    trial_end            BIGINT,
    period_index         INTEGER NOT NULL,
    current_period_start BIGINT  NOT NULL,
    current_period_end   BIGINT  NOT NULL,
    next_period          INTEGER NOT NULL,
    next_billing_at      BIGINT,             -- NULL once canceled
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    canceled_at          BIGINT,
    paused_until         BIGINT,
    skip_period          INTEGER,            -- NULL: none
    pending_plan_id      TEXT    REFERENCES plans (id),
    pending_plan_price   BIGINT  NOT NULL DEFAULT 0,
    adjustment           BIGINT  NOT NULL DEFAULT 0, -- charged (> 0) or credited (< 0) by the next billing run
    payment_method       TEXT    NOT NULL, -- JSON: gateway token and card display fields only
    ship_to              TEXT    NOT NULL, -- JSON address
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, id);
CREATE INDEX subscriptions_status ON subscriptions (status, id);
CREATE INDEX subscriptions_plan ON subscriptions (plan_id, id);
CREATE INDEX subscriptions_pending_plan ON subscriptions (pending_plan_id);
-- The billing run finds due subscriptions by status and time.
CREATE INDEX subscriptions_due ON subscriptions (status, next_billing_at);

-- +goose Down
DROP TABLE subscriptions;
DROP TABLE plans;
