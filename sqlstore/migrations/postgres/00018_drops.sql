-- +goose Up
-- Drops: a product whose launch time has come. The row is written once per
-- product and launch time, by the first worker that sees the launch, in the
-- transaction that writes the drop.started event; sold_out_at is set once,
-- with drop.sold_out, when no variant has stock left to reserve. The
-- primary key is what keeps several workers from announcing a drop twice.
CREATE TABLE drops (
    product_id  TEXT   NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    launch_at   BIGINT NOT NULL,             -- the product's launch_at when it started
    started_at  BIGINT NOT NULL,             -- when drop.started was written
    sold_out_at BIGINT,                      -- when drop.sold_out was written; NULL: not yet
    PRIMARY KEY (product_id, launch_at)
);
-- The drops still selling, checked for sold out every second.
CREATE INDEX drops_selling ON drops (launch_at) WHERE sold_out_at IS NULL;
-- Products with a launch time, looked up every second by launch time.
CREATE INDEX products_launch_at ON products (launch_at) WHERE launch_at IS NOT NULL;

-- +goose Down
DROP INDEX products_launch_at;
DROP TABLE drops;
