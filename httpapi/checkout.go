package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// checkoutRequest is the body of POST /v1/checkouts.
type checkoutRequest struct {
	CartID  string        `json:"cart_id"`
	Email   string        `json:"email"`
	ShipTo  order.Address `json:"ship_to"`
	Payment methodInput   `json:"payment"`
}

// errCardNumber rejects a body that carries what looks like a card number:
// shopd only ever handles gateway tokens, which keeps PCI scope minimal.
var errCardNumber = shopd.TypedErrorf(shopd.EINVALID, "card-number-rejected",
	"The request contains what looks like a card number. Send a payment token from the gateway instead; shopd never accepts card numbers.")

// checkout places an order for a cart and takes its payment. 201 with the
// paid order; 402 for a declined payment (the order is canceled and its
// stock released); 202 with the pending order when the gateway did not say
// what happened (the reconciler settles it, never by charging again).
func (s *Server) checkout(w http.ResponseWriter, r *http.Request) error {
	var req checkoutRequest
	if err := readNoCard(r, &req); err != nil {
		return err
	}
	res, err := s.Checkout.Checkout(r.Context(), checkout.Request{
		CartID: req.CartID, CustomerID: callerFrom(r).session.CustomerID, Email: req.Email, ShipTo: req.ShipTo,
		Payment: req.Payment.method(),
	})
	switch {
	case res.Order.ID == "":
		return err
	case errors.Is(err, payment.ErrUnknownOutcome):
		// Not an error of the request, but the on-call engineer must see why
		// payments go in doubt (a slow gateway, a dropped connection, …).
		s.log.WarnContext(r.Context(), "checkout: payment outcome unknown, left to the reconciler",
			slog.String("request_id", requestInfoFrom(r.Context()).id), slog.String("order", res.Order.ID),
			slog.String("payment", res.Order.PaymentID), slog.String("error", err.Error()))
		w.Header().Set("Location", "/v1/orders/"+res.Order.ID)
		return s.respondOrderWith(w, r, http.StatusAccepted, res.Order, nil)
	case err != nil:
		return err
	}
	w.Header().Set("Location", "/v1/orders/"+res.Order.ID)
	return s.respondOrderWith(w, r, http.StatusCreated, res.Order, nil) // just placed: nothing fulfilled yet
}
