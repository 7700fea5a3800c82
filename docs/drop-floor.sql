-- drop-floor.sql: what PostgreSQL alone spends on the rows a drop's order
-- must write, in batches of 64 orders, with nothing read back and no HTTP:
-- a floor under shopd's cost per order (docs/BENCHMARKS.md, "A floor under
-- a drop's cost"). Run with pgbench against a database holding shopd's
-- schema, one warehouse whs_1 and stock rows SKU-0 … SKU-63 (a row per client):
--   pgbench -n -c 8 -j 2 -T 30 -f docs/drop-floor.sql DB
-- Each run of the script is 64 orders in four commits: carts
-- (synchronous_commit off, as shopd's), the placement, the test gateway's
-- charges, the settlement.
\set n random(1, 2000000000)
\set sku :client_id
-- cart and line (synchronous_commit off, as shopd's carts)
BEGIN;
SET LOCAL synchronous_commit TO OFF;
WITH g AS (SELECT i, 'crt_' || :client_id || '_' || :n || '_' || i AS cid FROM generate_series(1, 64) i),
 c AS (INSERT INTO carts (id, market, customer_id, region, discount_code, created_at, updated_at, expires_at)
   SELECT cid, 'us', NULL, 'NY', '', 1, 1, 2 FROM g)
INSERT INTO cart_lines (id, cart_id, variant_id, quantity, position, created_at, updated_at)
  SELECT 'cln_' || :client_id || '_' || :n || '_' || i, cid, 'var_06H55AXGKDV5X274PR8W46407M', 1, 0, 1, 1 FROM g;
COMMIT;
-- placement: key, order, line, payment, reservation, order.created, stock
BEGIN;
WITH g AS (SELECT i, :client_id || '_' || :n || '_' || i AS s FROM generate_series(1, 64) i),
 k AS (INSERT INTO idempotency_keys (scope, key, request_hash, status, content_type, location, body, locked_at, created_at, expires_at)
   SELECT 'key_06H55AXF19TGK4F0CT1Y85DVS4', 'k' || s, repeat(md5(s), 2), 0, '', '', NULL, 1, 1, 2 FROM g),
 o AS (INSERT INTO orders (id, customer_id, email, market, currency, status, tax_included, subtotal, discount, discount_code, shipping, tax, total, refunded, ship_to, payment_id, created_at, updated_at)
   SELECT 'ord_' || s, NULL, 'shopper-' || s || '@example.com', 'us', 'USD', 'pending_payment', false, 2500, 0, '', 599, 100, 3199, 0, repeat('a', 109), 'pay_' || s, 1, 1 FROM g),
 l AS (INSERT INTO order_lines (id, order_id, position, variant_id, product_id, sku, title, options, quantity, unit_price, subtotal, discount, tax, total)
   SELECT 'oln_' || s, 'ord_' || s, 0, 'var_06H55AXGKDV5X274PR8W46407M', 'prd_06H55AXGKDV2Q0Z3JZ66TGWSPG', 'SKU-' || :sku, 'Load test dnev2vjx6ic4 / Default', '{}', 1, 2500, 2500, 0, 100, 2600 FROM g),
 p AS (INSERT INTO payments (id, reference, customer_id, amount, currency, capture, method_token, method_brand, method_last4, method_exp_month, method_exp_year, description, status, gateway, idempotency_key, charge_id, captured, refunded, failure_type, failure_message, hard_decline, attempts, locked_until, created_at, updated_at)
   SELECT 'pay_' || s, 'ord_' || s, '', 3199, 'USD', true, 'tok_visa', 'visa', '4242', 12, 2030, 'Order ord_' || s, 'pending', 'test', 'payk_' || s, '', 0, 0, '', '', false, 0, 0, 1, 1 FROM g),
 r AS (INSERT INTO stock_reservations (id, reference, sku, warehouse_id, quantity, state, expires_at, created_at, updated_at)
   SELECT 'rsv_' || s, 'ord_' || s, 'SKU-' || :sku, 'whs_1', 1, 'active', 2, 1, 1 FROM g)
INSERT INTO events (id, type, subject, data, created_at) SELECT 'evc_' || s, 'order.created', 'ord_' || s, repeat(md5(s), 34), 1 FROM g;
UPDATE stock SET reserved = reserved + 64, updated_at = 1 WHERE sku = 'SKU-' || :sku AND warehouse_id = 'whs_1' AND on_hand - reserved >= 64;
COMMIT;
-- the test gateway's ledger
INSERT INTO test_gateway_charges (id, idempotency_key, reference, token, amount, currency, status, captured, refunded, decline_type, created_at, updated_at)
  SELECT 'ch_' || s, 'payk_' || s, 'ord_' || s, 'tok_visa', 3199, 'USD', 'captured', 3199, 0, '', 1, 1
  FROM (SELECT :client_id || '_' || :n || '_' || i AS s FROM generate_series(1, 64) i) g;
-- settlement: payment, order, reservation, key's response, order.paid and payment.succeeded, sale movement, stock
BEGIN;
WITH g AS (SELECT i, :client_id || '_' || :n || '_' || i AS s FROM generate_series(1, 64) i),
 p AS (UPDATE payments SET status = 'succeeded', charge_id = 'ch_' || g.s, captured = 3199, updated_at = 3, settled_at = 3 FROM g WHERE payments.id = 'pay_' || g.s),
 o AS (UPDATE orders SET status = 'paid', paid_at = 3, updated_at = 3 FROM g WHERE orders.id = 'ord_' || g.s),
 r AS (UPDATE stock_reservations SET state = 'committed', updated_at = 3 FROM g WHERE stock_reservations.id = 'rsv_' || g.s),
 k AS (UPDATE idempotency_keys SET status = 201, content_type = 'application/json', location = '/v1/orders/ord_' || g.s, body = convert_to(repeat(md5(g.s), 42), 'UTF8') FROM g WHERE scope = 'key_06H55AXF19TGK4F0CT1Y85DVS4' AND key = 'k' || g.s),
 m AS (INSERT INTO stock_movements (id, sku, warehouse_id, kind, delta, on_hand_after, reference, note, staff_key_id, created_at)
   SELECT 'mov_' || s, 'SKU-' || :sku, 'whs_1', 'sale', -1, 0, 'ord_' || s, '', '', 3 FROM g)
INSERT INTO events (id, type, subject, data, created_at)
  SELECT 'ev' || t || '_' || s, CASE t WHEN 'p' THEN 'order.paid' ELSE 'payment.succeeded' END, 'ord_' || s,
    CASE t WHEN 'p' THEN repeat(md5(s), 35) ELSE repeat(md5(s), 7) END, 3
  FROM g CROSS JOIN (VALUES ('p'), ('s')) AS e(t);
UPDATE stock SET on_hand = on_hand - 64, reserved = reserved - 64, updated_at = 3 WHERE sku = 'SKU-' || :sku AND warehouse_id = 'whs_1' AND reserved >= 64;
COMMIT;
