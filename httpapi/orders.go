package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/orderops"
)

// orderJSON is an order as the API shows it, with amounts formatted for the
// order's market.
type orderJSON struct {
	ID           string             `json:"id"`
	CustomerID   string             `json:"customer_id,omitempty"`
	Email        string             `json:"email"`
	Market       string             `json:"market"`
	Status       order.Status       `json:"status"`
	RefundStatus order.RefundStatus `json:"refund_status"`
	TaxIncluded  bool               `json:"tax_included"`
	Lines        []orderLineJSON    `json:"lines"`
	Subtotal     moneyJSON          `json:"subtotal"`
	Discount     moneyJSON          `json:"discount"`
	DiscountCode string             `json:"discount_code,omitempty"`
	Shipping     moneyJSON          `json:"shipping"`
	Tax          moneyJSON          `json:"tax"`
	Total        moneyJSON          `json:"total"`
	Refunded     moneyJSON          `json:"refunded"`
	ShipTo       order.Address      `json:"ship_to"`
	PaymentID    string             `json:"payment_id,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
	PaidAt       time.Time          `json:"paid_at,omitzero"`
	CanceledAt   time.Time          `json:"canceled_at,omitzero"`
	// Fulfillments are shown on single-order responses (not in lists).
	Fulfillments []orderops.Fulfillment `json:"fulfillments,omitempty"`
}

type orderLineJSON struct {
	ID        string            `json:"id"`
	VariantID string            `json:"variant_id"`
	ProductID string            `json:"product_id"`
	SKU       string            `json:"sku"`
	Title     string            `json:"title"`
	Options   map[string]string `json:"options,omitempty"`
	Quantity  int64             `json:"quantity"`
	UnitPrice moneyJSON         `json:"unit_price"`
	Subtotal  moneyJSON         `json:"subtotal"`
	Discount  moneyJSON         `json:"discount"`
	Tax       moneyJSON         `json:"tax"`
	Total     moneyJSON         `json:"total"`
}

// orderOut renders orders in their markets' locales.
func (s *Server) orderOut(ctx context.Context, os ...order.Order) ([]orderJSON, error) {
	locales := map[string]string{}
	out := make([]orderJSON, 0, len(os))
	for _, o := range os {
		loc, ok := locales[o.Market]
		if !ok {
			m, err := s.Markets.Market(ctx, o.Market)
			if err != nil {
				return nil, err
			}
			loc, locales[o.Market] = m.DefaultLocale, m.DefaultLocale
		}
		j := orderJSON{ID: o.ID, CustomerID: o.CustomerID, Email: o.Email, Market: o.Market, Status: o.Status, RefundStatus: o.RefundStatus,
			TaxIncluded: o.TaxIncluded, Lines: make([]orderLineJSON, len(o.Lines)),
			Subtotal: moneyOut(o.Subtotal, loc), Discount: moneyOut(o.Discount, loc), DiscountCode: o.DiscountCode,
			Shipping: moneyOut(o.Shipping, loc), Tax: moneyOut(o.Tax, loc), Total: moneyOut(o.Total, loc), Refunded: moneyOut(o.Refunded, loc),
			ShipTo: o.ShipTo, PaymentID: o.PaymentID, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, PaidAt: o.PaidAt, CanceledAt: o.CanceledAt}
		for i, l := range o.Lines {
			j.Lines[i] = orderLineJSON{ID: l.ID, VariantID: l.VariantID, ProductID: l.ProductID, SKU: l.SKU, Title: l.Title, Options: l.Options,
				Quantity: l.Quantity, UnitPrice: moneyOut(l.UnitPrice, loc), Subtotal: moneyOut(l.Subtotal, loc),
				Discount: moneyOut(l.Discount, loc), Tax: moneyOut(l.Tax, loc), Total: moneyOut(l.Total, loc)}
		}
		out = append(out, j)
	}
	return out, nil
}

// respondOrders writes a page of orders; a full page names the cursor of
// the next one.
func (s *Server) respondOrders(w http.ResponseWriter, r *http.Request, f order.Filter) error {
	limit, err := queryInt(r, "limit", 20, 1, order.MaxPageSize)
	if err != nil {
		return err
	}
	f.Before, f.Limit = r.URL.Query().Get("cursor"), limit+1
	os, err := s.Orders.Orders(r.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(os) > limit {
		os, next = os[:limit], os[limit-1].ID
	}
	data, err := s.orderOut(r.Context(), os...)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, List[orderJSON]{Data: data, NextCursor: next})
}

// respondOrder writes one order.
func (s *Server) respondOrder(w http.ResponseWriter, r *http.Request, o order.Order) error {
	return s.respondOrderStatus(w, r, http.StatusOK, o)
}

// respondOrderStatus writes one order with a status.
func (s *Server) respondOrderStatus(w http.ResponseWriter, r *http.Request, status int, o order.Order) error {
	var fs []orderops.Fulfillment
	if s.OrderOps != nil && o.Status != order.StatusPendingPayment {
		var err error
		if fs, err = s.OrderOps.Fulfillments(r.Context(), o.ID); err != nil {
			return err
		}
	}
	return s.respondOrderWith(w, r, status, o, fs)
}

// respondOrderWith writes one order with a status and its fulfillments
// (none for an order checkout just placed: they are not looked up).
func (s *Server) respondOrderWith(w http.ResponseWriter, r *http.Request, status int, o order.Order, fs []orderops.Fulfillment) error {
	out, err := s.orderOut(r.Context(), o)
	if err != nil {
		return err
	}
	out[0].Fulfillments = fs
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, status, out[0])
}

// listMyOrders lists the customer's orders, newest first.
func (s *Server) listMyOrders(w http.ResponseWriter, r *http.Request) error {
	return s.respondOrders(w, r, order.Filter{CustomerID: callerFrom(r).session.CustomerID})
}

// getMyOrder returns one of the customer's orders; another's is 404.
func (s *Server) getMyOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Orders.CustomerOrder(r.Context(), callerFrom(r).session.CustomerID, r.PathValue("order"))
	if err != nil {
		return err
	}
	return s.respondOrder(w, r, o)
}

// adminListOrders lists and searches all orders, newest first.
func (s *Server) adminListOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.respondOrders(w, r, order.Filter{Status: order.Status(q.Get("status")), Email: q.Get("email"), CustomerID: q.Get("customer"), Market: q.Get("market")})
}

// adminGetOrder returns any order.
func (s *Server) adminGetOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Orders.Order(r.Context(), r.PathValue("order"))
	if err != nil {
		return err
	}
	return s.respondOrder(w, r, o)
}
