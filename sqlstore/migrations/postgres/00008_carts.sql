-- +goose Up
-- Carts. A guest cart has no customer_id: its unguessable ID is what reaches
-- it. market is a market code, checked by the cart service (no foreign key:
-- modules stay decoupled). A customer's carts go when the customer does.
CREATE TABLE carts (
    id            TEXT   NOT NULL PRIMARY KEY, -- crt_…
    market        TEXT   NOT NULL,
    customer_id   TEXT   REFERENCES customers (id) ON DELETE CASCADE,
    region        TEXT   NOT NULL DEFAULT '',
    discount_code TEXT   NOT NULL DEFAULT '',  -- upper-case; '' for none
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX carts_expires_at ON carts (expires_at);
CREATE INDEX carts_customer_id ON carts (customer_id);

-- One line per variant of a cart; position keeps the order lines were added.
CREATE TABLE cart_lines (
    id         TEXT    NOT NULL PRIMARY KEY, -- cln_…
    cart_id    TEXT    NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id TEXT    NOT NULL,
    quantity   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX cart_lines_variant ON cart_lines (cart_id, variant_id);

-- Discount codes. Amounts are minor units of currency: a fixed code's
-- amount and the minimum subtotal share it ('' when the code works in every
-- currency). times_used is changed only by redemptions, with a conditional
-- UPDATE under the row lock, so usage_limit holds exactly.
CREATE TABLE discounts (
    id                 TEXT    NOT NULL PRIMARY KEY, -- dsc_…
    code               TEXT    NOT NULL,             -- upper-case
    kind               TEXT    NOT NULL,             -- percent, fixed
    rate               BIGINT  NOT NULL DEFAULT 0,   -- percent: parts per million
    amount             BIGINT  NOT NULL DEFAULT 0,   -- fixed
    currency           TEXT    NOT NULL DEFAULT '',
    minimum_subtotal   BIGINT  NOT NULL DEFAULT 0,   -- 0: none
    starts_at          BIGINT,
    ends_at            BIGINT,
    usage_limit        INTEGER NOT NULL DEFAULT 0,   -- 0: none
    per_customer_limit INTEGER NOT NULL DEFAULT 0,   -- 0: none
    active             BOOLEAN NOT NULL,
    times_used         INTEGER NOT NULL DEFAULT 0,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
CREATE UNIQUE INDEX discounts_code ON discounts (code);

-- One row per order that used a code; customer is the buyer's key for the
-- per-customer limit (a customer ID or a lower-cased email).
CREATE TABLE discount_redemptions (
    order_ref   TEXT   NOT NULL PRIMARY KEY,
    discount_id TEXT   NOT NULL REFERENCES discounts (id),
    customer    TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX discount_redemptions_customer ON discount_redemptions (discount_id, customer);

-- +goose Down
DROP TABLE discount_redemptions;
DROP TABLE discounts;
DROP TABLE cart_lines;
DROP TABLE carts;
