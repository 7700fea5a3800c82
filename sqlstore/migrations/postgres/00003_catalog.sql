-- +goose Up
-- Products. attributes (JSON object of string arrays) and media (JSON array)
-- are kept whole here, in the order the merchant gave; product_attributes
-- repeats the attributes one row per value so that storefront filters use
-- an index.
CREATE TABLE products (
    id             TEXT    NOT NULL PRIMARY KEY, -- prd_…
    handle         TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL,             -- draft, active, archived
    launch_at      BIGINT,                       -- drop time; NULL: none
    purchase_limit INTEGER NOT NULL DEFAULT 0,   -- per customer; 0: none
    tax_category   TEXT    NOT NULL,
    attributes     TEXT    NOT NULL DEFAULT '{}',
    media          TEXT    NOT NULL DEFAULT '[]',
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX products_handle ON products (handle);
CREATE INDEX products_status_id ON products (status, id);

CREATE TABLE product_attributes (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (product_id, name, value)
);
CREATE INDEX product_attributes_filter ON product_attributes (name, value, product_id);

-- Variants (SKUs). options is a JSON object such as {"shade": "Rose"}.
CREATE TABLE variants (
    id         TEXT    NOT NULL PRIMARY KEY, -- var_…
    product_id TEXT    NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku        TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    options    TEXT    NOT NULL DEFAULT '{}',
    position   INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX variants_sku ON variants (sku);
CREATE INDEX variants_product ON variants (product_id, position, id);

-- A variant's price in a market. market is a market code, checked by the
-- catalog service (no foreign key: modules stay decoupled). Amounts are in
-- the currency's minor unit; compare_at is in the same currency.
CREATE TABLE variant_prices (
    variant_id TEXT   NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    market     TEXT   NOT NULL,
    amount     BIGINT NOT NULL,
    currency   TEXT   NOT NULL,
    compare_at BIGINT,
    PRIMARY KEY (variant_id, market)
);

-- +goose Down
DROP TABLE variant_prices;
DROP TABLE variants;
DROP TABLE product_attributes;
DROP TABLE products;
