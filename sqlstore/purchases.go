package sqlstore

import (
	"context"

	"github.com/shopd/shopd"
)

// ErrPurchaseLimit is returned when a buyer would go over a product's
// per-customer purchase limit.
var ErrPurchaseLimit = shopd.TypedErrorf(shopd.ECONFLICT, "purchase-limit-reached", "This would go over the product's purchase limit per customer.")

// CountPurchase adds quantity units of a product to a buyer's count in the
// transaction, unless the count would exceed limit: then it returns
// ErrPurchaseLimit and changes nothing. One conditional upsert, so two
// concurrent checkouts by one buyer can never both pass the limit.
func (tx *Tx) CountPurchase(ctx context.Context, buyer, productID string, quantity, limit int64) error {
	if quantity > limit {
		return ErrPurchaseLimit
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO purchase_counts (buyer, product_id, quantity) VALUES ($1, $2, $3)
		ON CONFLICT (buyer, product_id) DO UPDATE SET quantity = purchase_counts.quantity + excluded.quantity
		WHERE purchase_counts.quantity + excluded.quantity <= $4`, buyer, productID, quantity, limit)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = ErrPurchaseLimit
		}
		return err
	}
	return nil
}

// UncountPurchase gives units back to a buyer's count (a checkout that
// failed, an order canceled before shipping).
func (tx *Tx) UncountPurchase(ctx context.Context, buyer, productID string, quantity int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE purchase_counts SET quantity = quantity - $3 WHERE buyer = $1 AND product_id = $2 AND quantity >= $3`,
		buyer, productID, quantity)
	return err
}
