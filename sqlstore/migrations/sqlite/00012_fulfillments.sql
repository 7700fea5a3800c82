-- +goose Up
-- Fulfillments: units of an order sent from one warehouse, with tracking.
-- lines is JSON [{"line_id", "quantity"}].
CREATE TABLE order_fulfillments (
    id              TEXT   PRIMARY KEY,
    order_id        TEXT   NOT NULL REFERENCES orders (id),
    warehouse_id    TEXT   NOT NULL,
    warehouse       TEXT   NOT NULL, -- code
    lines           TEXT   NOT NULL,
    tracking_number TEXT   NOT NULL DEFAULT '',
    carrier         TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX order_fulfillments_order ON order_fulfillments (order_id, id);

-- Returns: units of an order that came back and were restocked in one
-- warehouse; refunded is what was given back for them.
CREATE TABLE order_returns (
    id           TEXT   PRIMARY KEY,
    order_id     TEXT   NOT NULL REFERENCES orders (id),
    warehouse_id TEXT   NOT NULL,
    warehouse    TEXT   NOT NULL,
    lines        TEXT   NOT NULL,
    refunded     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX order_returns_order ON order_returns (order_id, id);

-- +goose Down
DROP TABLE order_returns;
DROP TABLE order_fulfillments;
