-- +goose Up
-- Units of each product bought per buyer, for per-customer purchase limits
-- (drops): one conditional upsert per checkout keeps the limit exact under
-- any concurrency. buyer is a customer ID, or "email:" + address for guests.
CREATE TABLE purchase_counts (
    buyer      TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (buyer, product_id)
);

-- +goose Down
DROP TABLE purchase_counts;
