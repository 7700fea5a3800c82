package httpapi

import (
	"bytes"
	"io"
	"net/http"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/orderops"
)

var errOrderOpsUnavailable = shopd.Errorf(shopd.EUNAVAILABLE, "order operations are not configured on this server")

// decodeOptional decodes a JSON body into v unless the body is empty.
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(r, v)
}

// cancelOrder cancels a paid order: restock, give back, refund the rest.
func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	if s.OrderOps == nil {
		return errOrderOpsUnavailable
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	o, err := s.OrderOps.Cancel(r.Context(), r.PathValue("order"), req.Reason, callerFrom(r).staffKey.ID)
	if err != nil {
		return err
	}
	return s.respondOrder(w, r, o)
}

// refundOrder refunds part or all of an order's captured payment.
func (s *Server) refundOrder(w http.ResponseWriter, r *http.Request) error {
	if s.OrderOps == nil {
		return errOrderOpsUnavailable
	}
	var req struct {
		Amount *struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Reason string `json:"reason"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Amount == nil {
		var v shopd.Validation
		v.Addf("amount", "is required")
		return v.Err()
	}
	o, err := s.OrderOps.Refund(r.Context(), r.PathValue("order"), shopd.Money{Amount: req.Amount.Amount, Currency: req.Amount.Currency}, req.Reason)
	if err != nil {
		return err
	}
	return s.respondOrderStatus(w, r, http.StatusCreated, o)
}

// fulfillmentJSON is a fulfillment with the updated order.
type fulfillmentJSON struct {
	Fulfillment orderops.Fulfillment `json:"fulfillment"`
	Order       orderJSON            `json:"order"`
}

// fulfillOrder ships units of an order from one warehouse.
func (s *Server) fulfillOrder(w http.ResponseWriter, r *http.Request) error {
	if s.OrderOps == nil {
		return errOrderOpsUnavailable
	}
	var req struct {
		Warehouse      string                  `json:"warehouse"`
		Lines          []orderops.LineQuantity `json:"lines"`
		TrackingNumber string                  `json:"tracking_number"`
		Carrier        string                  `json:"carrier"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	o, f, err := s.OrderOps.Fulfill(r.Context(), r.PathValue("order"), orderops.FulfillRequest{
		Warehouse: req.Warehouse, Lines: req.Lines, TrackingNumber: req.TrackingNumber, Carrier: req.Carrier})
	if err != nil {
		return err
	}
	out, err := s.orderOut(r.Context(), o)
	if err != nil {
		return err
	}
	return respond(w, http.StatusCreated, fulfillmentJSON{Fulfillment: f, Order: out[0]})
}

// deliverOrder marks a shipped order delivered.
func (s *Server) deliverOrder(w http.ResponseWriter, r *http.Request) error {
	if s.OrderOps == nil {
		return errOrderOpsUnavailable
	}
	o, err := s.OrderOps.Deliver(r.Context(), r.PathValue("order"))
	if err != nil {
		return err
	}
	return s.respondOrder(w, r, o)
}

// returnJSON is a return with the updated order.
type returnJSON struct {
	Return struct {
		orderops.Return
		Refund moneyJSON `json:"refund"`
	} `json:"return"`
	Order orderJSON `json:"order"`
}

// returnOrder restocks returned units and optionally refunds them.
func (s *Server) returnOrder(w http.ResponseWriter, r *http.Request) error {
	if s.OrderOps == nil {
		return errOrderOpsUnavailable
	}
	var req struct {
		Warehouse string                  `json:"warehouse"`
		Lines     []orderops.LineQuantity `json:"lines"`
		Refund    bool                    `json:"refund"`
		Reason    string                  `json:"reason"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	o, ret, err := s.OrderOps.Return(r.Context(), r.PathValue("order"), orderops.ReturnRequest{
		Warehouse: req.Warehouse, Lines: req.Lines, Refund: req.Refund, Reason: req.Reason, StaffKeyID: callerFrom(r).staffKey.ID})
	if err != nil {
		return err
	}
	return s.respondReturn(w, r, o, ret)
}

func (s *Server) respondReturn(w http.ResponseWriter, r *http.Request, o order.Order, ret orderops.Return) error {
	out, err := s.orderOut(r.Context(), o)
	if err != nil {
		return err
	}
	m, err := s.Markets.Market(r.Context(), o.Market)
	if err != nil {
		return err
	}
	var body returnJSON
	body.Return.Return, body.Return.Refund, body.Order = ret, moneyOut(ret.Refund, m.DefaultLocale), out[0]
	return respond(w, http.StatusCreated, body)
}
