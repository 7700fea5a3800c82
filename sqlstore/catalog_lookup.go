package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
)

var _ catalog.VariantLookup = (*CatalogStore)(nil)

// VariantsInMarket implements catalog.VariantLookup: one query reads each
// variant with its product and its price in the market (if any). Unknown IDs
// are left out; the result is ordered by variant ID.
func (s *CatalogStore) VariantsInMarket(ctx context.Context, market string, ids []string) ([]catalog.MarketVariant, error) {
	out := make([]catalog.MarketVariant, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, market)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+productCols+`,
		v.id, v.sku, v.title, v.options, v.position, v.created_at, v.updated_at,
		vp.amount, vp.currency, vp.compare_at
		FROM variants v
		JOIN products p ON p.id = v.product_id
		LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.market = $1
		WHERE v.id IN (`+catalogPlaceholders(2, len(ids))+`)
		ORDER BY v.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var mv catalog.MarketVariant
		p, v := &mv.Product, &mv.Variant
		var launch, cmp, amount sql.NullInt64
		var currency sql.NullString
		var status, attrs, media, opts string
		var pCreated, pUpdated, vCreated, vUpdated int64
		if err := rows.Scan(&p.ID, &p.Handle, &p.Title, &p.Description, &status, &launch, &p.PurchaseLimit, &p.TaxCategory,
			&attrs, &media, &pCreated, &pUpdated,
			&v.ID, &v.SKU, &v.Title, &opts, &v.Position, &vCreated, &vUpdated,
			&amount, &currency, &cmp); err != nil {
			return nil, err
		}
		if err := decodeProduct(p, status, launch, attrs, media, pCreated, pUpdated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
			return nil, fmt.Errorf("sqlstore: variant %s options: %w", v.ID, err)
		}
		v.ProductID, v.Options, v.Prices = p.ID, catalogNonNil(v.Options), map[string]catalog.Price{}
		v.CreatedAt, v.UpdatedAt = fromMicros(vCreated), fromMicros(vUpdated)
		if amount.Valid {
			pr := catalog.Price{Amount: shopd.Money{Amount: amount.Int64, Currency: currency.String}}
			if cmp.Valid {
				pr.CompareAt = &shopd.Money{Amount: cmp.Int64, Currency: currency.String}
			}
			v.Prices[market] = pr
		}
		out = append(out, mv)
	}
	return out, rows.Err()
}
