-- +goose Up
-- Box allocation. Staff choose each period's pool of products for a box
-- plan; an allocation run picks every paid subscriber's box from it; each box
-- holds its stock (a reservation under its order's ID) until the run is
-- approved and the box becomes a paid order.
CREATE TABLE box_pools (
    plan_id    TEXT    NOT NULL REFERENCES plans (id),
    period     TEXT    NOT NULL,             -- "2026-12": the month the box ships
    variant_id TEXT    NOT NULL,
    cost       BIGINT  NOT NULL DEFAULT 0,   -- minor units, reported only
    boost      BIGINT  NOT NULL DEFAULT 0,   -- the merchant's bonus in points × 1,000,000
    position   INTEGER NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (plan_id, period, variant_id)
);

CREATE TABLE box_runs (
    id          TEXT    PRIMARY KEY,
    plan_id     TEXT    NOT NULL REFERENCES plans (id),
    period      TEXT    NOT NULL,
    market      TEXT    NOT NULL,
    status      TEXT    NOT NULL,            -- allocating, proposed, approved, discarded
    options     TEXT    NOT NULL,            -- JSON: the run's constraints and weights
    report      TEXT    NOT NULL DEFAULT '{}', -- JSON: objective, bound, gap, usage, unfilled
    boxes       INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
-- One run in progress per plan, period and market: its boxes hold stock.
CREATE UNIQUE INDEX box_runs_pending ON box_runs (plan_id, period, market) WHERE status IN ('allocating', 'proposed');
CREATE INDEX box_runs_plan ON box_runs (plan_id, period, id);

CREATE TABLE boxes (
    id              TEXT    PRIMARY KEY,
    run_id          TEXT    NOT NULL REFERENCES box_runs (id),
    plan_id         TEXT    NOT NULL,
    period          TEXT    NOT NULL,
    subscription_id TEXT    NOT NULL REFERENCES subscriptions (id),
    customer_id     TEXT    NOT NULL,
    invoice_id      TEXT    NOT NULL REFERENCES invoices (id),
    warehouse_id    TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,        -- the order it becomes; its stock is reserved under this ID
    status          TEXT    NOT NULL,        -- allocated, ordered
    score           BIGINT  NOT NULL,
    items           TEXT    NOT NULL,        -- JSON: variant, product, SKU, title, score, price
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    UNIQUE (subscription_id, period)
);
CREATE INDEX boxes_run ON boxes (run_id, status, id);
CREATE INDEX boxes_customer ON boxes (customer_id, id);
CREATE INDEX boxes_invoice ON boxes (invoice_id); -- approval records each box's order on its invoice

-- What each subscriber received, for "no product received in the last N periods".
CREATE TABLE box_items (
    subscription_id TEXT NOT NULL,
    period          TEXT NOT NULL,
    product_id      TEXT NOT NULL,
    box_id          TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
    PRIMARY KEY (subscription_id, period, product_id)
);

-- +goose Down
DROP TABLE box_items;
DROP TABLE boxes;
DROP TABLE box_runs;
DROP TABLE box_pools;
