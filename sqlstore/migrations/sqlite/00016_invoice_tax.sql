-- +goose Up
-- Renewals are taxed as checkout taxes: the tax of the period's price in the
-- subscriber's region, added to the total (or, in inclusive markets, part of it).
ALTER TABLE invoices ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN tax_included INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE invoices DROP COLUMN tax_included;
ALTER TABLE invoices DROP COLUMN tax;
