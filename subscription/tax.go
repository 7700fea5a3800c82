package subscription

import (
	"context"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// TaxMarkets reads what taxing a renewal needs (market.Service implements it).
type TaxMarkets interface {
	Market(ctx context.Context, code string) (market.Market, error)
	TaxRates(ctx context.Context, code string) ([]market.TaxRate, error)
}

// taxes taxes the invoices of one billing batch, reading each market and
// plan once.
type taxes struct {
	markets TaxMarkets
	tx      BillingTx
	byCode  map[string]marketTaxes
	plans   map[string][]PlanLine
}

type marketTaxes struct {
	m     market.Market
	rates []market.TaxRate
}

func newTaxes(markets TaxMarkets, tx BillingTx) *taxes {
	return &taxes{markets: markets, tx: tx, byCode: map[string]marketTaxes{}, plans: map[string][]PlanLine{}}
}

// apply taxes a new invoice as checkout taxes a basket: the period's amount
// (price and proration) spread over the plan's items with their tax
// categories (a box: one line of the standard category), for the
// subscription's shipping region. In an exclusive market the tax is added
// to the total; in an inclusive one it is part of it.
func (t *taxes) apply(ctx context.Context, s Subscription, inv *Invoice) error {
	mt, ok := t.byCode[s.Market]
	if !ok {
		var err error
		if mt.m, err = t.markets.Market(ctx, s.Market); err != nil {
			return err
		}
		if mt.rates, err = t.markets.TaxRates(ctx, s.Market); err != nil {
			return err
		}
		t.byCode[s.Market] = mt
	}
	var items []PlanLine
	if s.Kind == KindReplenishment {
		var ok bool
		if items, ok = t.plans[inv.PlanID]; !ok {
			var err error
			if items, err = t.tx.PlanLines(ctx, inv.PlanID); err != nil {
				return err
			}
			t.plans[inv.PlanID] = items
		}
	}
	lines := []market.Line{{Ref: "period", UnitPrice: inv.Total, Quantity: 1, TaxCategory: market.StandardCategory}}
	if len(items) > 0 {
		quantities := make([]int64, len(items))
		for i, it := range items {
			quantities[i] = it.Quantity
		}
		unit, discounts := spread(inv.Total.Amount, quantities)
		lines = lines[:0]
		for i, it := range items {
			lines = append(lines, market.Line{Ref: it.SKU, UnitPrice: shopd.Money{Amount: unit, Currency: inv.Total.Currency},
				Quantity: it.Quantity, TaxCategory: it.TaxCategory, Discount: shopd.Money{Amount: discounts[i], Currency: inv.Total.Currency}})
		}
	}
	b, err := market.Price(mt.m, mt.rates, s.ShipTo.Region, lines, nil)
	if err != nil {
		return err
	}
	inv.Tax, inv.TaxIncluded, inv.Total = b.Tax, b.TaxIncluded, b.Total
	return nil
}
