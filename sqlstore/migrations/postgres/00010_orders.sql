-- +goose Up
-- Orders, priced and taxed when placed; the amounts never change afterwards
-- except what was refunded.
CREATE TABLE orders (
    id            TEXT    PRIMARY KEY,
    customer_id   TEXT,
    email         TEXT    NOT NULL,
    market        TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    tax_included  BOOLEAN NOT NULL,
    subtotal      BIGINT  NOT NULL,
    discount      BIGINT  NOT NULL,
    discount_code TEXT    NOT NULL DEFAULT '',
    shipping      BIGINT  NOT NULL,
    tax           BIGINT  NOT NULL,
    total         BIGINT  NOT NULL,
    refunded      BIGINT  NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
    ship_to       TEXT    NOT NULL, -- JSON address
    payment_id    TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    paid_at       BIGINT,
    canceled_at   BIGINT
);
CREATE INDEX orders_customer ON orders (customer_id, id);
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_email ON orders (email, id);

CREATE TABLE order_lines (
    id         TEXT    PRIMARY KEY,
    order_id   TEXT    NOT NULL REFERENCES orders (id),
    position   INTEGER NOT NULL,
    variant_id TEXT    NOT NULL,
    product_id TEXT    NOT NULL,
    sku        TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    options    TEXT    NOT NULL, -- JSON
    quantity   BIGINT  NOT NULL CHECK (quantity > 0),
    unit_price BIGINT  NOT NULL,
    subtotal   BIGINT  NOT NULL,
    discount   BIGINT  NOT NULL,
    tax        BIGINT  NOT NULL,
    total      BIGINT  NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id, position);

-- +goose Down
DROP TABLE order_lines;
DROP TABLE orders;
