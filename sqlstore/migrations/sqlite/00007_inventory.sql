-- +goose Up
-- Warehouses. sync_sequence and sync_digest remember the last snapshot
-- applied from the warehouse system (0 and '' before the first), so that a
-- replay changes nothing and an older snapshot is refused.
CREATE TABLE warehouses (
    id            TEXT    NOT NULL PRIMARY KEY, -- whs_…
    code          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    priority      INTEGER NOT NULL,             -- routing order: lower first
    region        TEXT    NOT NULL DEFAULT '',
    active        INTEGER NOT NULL,             -- boolean
    sync_sequence BIGINT  NOT NULL DEFAULT 0,
    sync_digest   TEXT    NOT NULL DEFAULT '',
    synced_at     BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX warehouses_code ON warehouses (code);

-- The markets a warehouse ships to (market codes; no foreign key: modules
-- stay decoupled). Keyed by market first: routing looks warehouses up by it.
CREATE TABLE warehouse_markets (
    market       TEXT NOT NULL,
    warehouse_id TEXT NOT NULL REFERENCES warehouses (id) ON DELETE CASCADE,
    PRIMARY KEY (market, warehouse_id)
) WITHOUT ROWID;
CREATE INDEX warehouse_markets_warehouse ON warehouse_markets (warehouse_id);

-- Stock of a SKU (variants.sku, checked by the store) in a warehouse.
-- Available is on_hand - reserved; reservations take it only with a
-- conditional UPDATE, so it never goes below zero. Only a sync may leave
-- on_hand below reserved (a shortfall, reported as 0 available).
CREATE TABLE stock (
    sku                 TEXT   NOT NULL,
    warehouse_id        TEXT   NOT NULL REFERENCES warehouses (id),
    on_hand             BIGINT NOT NULL DEFAULT 0,
    reserved            BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    low_stock_threshold BIGINT,                   -- NULL: no low-stock events
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (sku, warehouse_id)
) WITHOUT ROWID;
CREATE INDEX stock_warehouse ON stock (warehouse_id, sku);

-- The ledger: one row per change of on_hand, so that the deltas of a stock
-- row add up to its on_hand. No foreign key to warehouses here or in
-- stock_reservations (warehouses are never deleted): on PostgreSQL every
-- checked insert would share-lock the warehouse row, a hot spot under a drop.
CREATE TABLE stock_movements (
    id            TEXT   NOT NULL PRIMARY KEY, -- mov_…
    sku           TEXT   NOT NULL,
    warehouse_id  TEXT   NOT NULL,
    kind          TEXT   NOT NULL,             -- receipt, sale, return, adjustment, transfer_out, transfer_in, sync
    delta         BIGINT NOT NULL,
    on_hand_after BIGINT NOT NULL,
    reference     TEXT   NOT NULL DEFAULT '',
    note          TEXT   NOT NULL DEFAULT '',
    staff_key_id  TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements (sku, warehouse_id, id);
CREATE INDEX stock_movements_warehouse ON stock_movements (warehouse_id, id);
CREATE INDEX stock_movements_reference ON stock_movements (reference, id);

-- Stock held for a checkout or order (reference), one row per SKU and
-- warehouse. Only active rows count in stock.reserved.
CREATE TABLE stock_reservations (
    id           TEXT   NOT NULL PRIMARY KEY, -- rsv_…
    reference    TEXT   NOT NULL,
    sku          TEXT   NOT NULL,
    warehouse_id TEXT   NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    state        TEXT   NOT NULL,             -- active, committed, released, expired
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX stock_reservations_reference ON stock_reservations (reference, id);
CREATE UNIQUE INDEX stock_reservations_active ON stock_reservations (reference, sku, warehouse_id) WHERE state = 'active';
CREATE INDEX stock_reservations_expiry ON stock_reservations (expires_at, id) WHERE state = 'active';

-- +goose Down
DROP TABLE stock_reservations;
DROP TABLE stock_movements;
DROP TABLE stock;
DROP TABLE warehouse_markets;
DROP TABLE warehouses;
