package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// publicMarketJSON is what shoppers see of a market.
type publicMarketJSON struct {
	Code          string         `json:"code"`
	Name          string         `json:"name"`
	Country       string         `json:"country"`
	Currency      string         `json:"currency"`
	TaxMode       market.TaxMode `json:"tax_mode"`
	Languages     []string       `json:"languages"`
	DefaultLocale string         `json:"default_locale"`
}

// listPublicMarkets lists the enabled markets, cacheable by CDNs (purge the
// "markets" surrogate key when a market changes).
func (s *Server) listPublicMarkets(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.Markets.EnabledMarkets(r.Context())
	if err != nil {
		return err
	}
	out := List[publicMarketJSON]{Data: make([]publicMarketJSON, 0, len(ms))}
	for _, m := range ms {
		out.Data = append(out.Data, publicMarketJSON{Code: m.Code, Name: m.Name, Country: m.Country, Currency: m.Currency,
			TaxMode: m.TaxMode, Languages: m.Languages, DefaultLocale: m.DefaultLocale})
	}
	return respondCacheable(w, r, out, "markets")
}

// listMarkets lists every market, enabled or not.
func (s *Server) listMarkets(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.Markets.Markets(r.Context())
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, List[market.Market]{Data: ms})
}

// getMarket returns one market.
func (s *Server) getMarket(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Markets.Market(r.Context(), r.PathValue("market"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, m)
}

// updateMarketRequest is the body of PATCH /v1/admin/markets/{market}.
// Currency and tax mode are accepted only to be refused with a clear
// message: every price in a market depends on them (see market.Market).
type updateMarketRequest struct {
	Name          *string         `json:"name"`
	Languages     *[]string       `json:"languages"`
	DefaultLocale *string         `json:"default_locale"`
	TimeZone      *string         `json:"time_zone"`
	Rounding      *shopd.Rounding `json:"rounding"`
	Enabled       *bool           `json:"enabled"`
	Currency      json.RawMessage `json:"currency"`
	TaxMode       json.RawMessage `json:"tax_mode"`
}

// updateMarket changes a market's name, languages, locale, time zone,
// rounding or enabled flag.
func (s *Server) updateMarket(w http.ResponseWriter, r *http.Request) error {
	var req updateMarketRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var v shopd.Validation
	v.Check(req.Currency == nil, "currency", "cannot be changed: every price in the market is in this currency; create a new market instead")
	v.Check(req.TaxMode == nil, "tax_mode", "cannot be changed: shelf prices in the market include or exclude tax by it; create a new market instead")
	if err := v.Err(); err != nil {
		return err
	}
	m, err := s.Markets.UpdateMarket(r.Context(), r.PathValue("market"), market.MarketUpdate{
		Name: req.Name, Languages: req.Languages, DefaultLocale: req.DefaultLocale, TimeZone: req.TimeZone,
		Rounding: req.Rounding, Enabled: req.Enabled,
	})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, m)
}

// taxRateJSON shows a tax rate with its rate as a percentage string, so
// that 9.975% never passes through a float.
type taxRateJSON struct {
	ID          string    `json:"id"`
	Market      string    `json:"market"`
	Region      string    `json:"region"`
	Category    string    `json:"category"`
	Name        string    `json:"name"`
	RatePercent string    `json:"rate_percent"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func taxRateOut(t market.TaxRate) taxRateJSON {
	return taxRateJSON{ID: t.ID, Market: t.Market, Region: t.Region, Category: t.Category, Name: t.Name,
		RatePercent: t.Rate.Percent(), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// parseRatePercent reads the rate_percent field.
func parseRatePercent(s *string) (shopd.Rate, error) {
	var v shopd.Validation
	if !v.Check(s != nil, "rate_percent", "is required") {
		return 0, v.Err()
	}
	rate, err := shopd.ParseRate(*s)
	if err != nil {
		v.Addf("rate_percent", "must be a percentage from 0 to 100 with at most 4 decimals, such as \"9.975\"")
		return 0, v.Err()
	}
	return rate, nil
}

// listTaxRates lists a market's tax rates.
func (s *Server) listTaxRates(w http.ResponseWriter, r *http.Request) error {
	rates, err := s.Markets.TaxRates(r.Context(), r.PathValue("market"))
	if err != nil {
		return err
	}
	out := List[taxRateJSON]{Data: make([]taxRateJSON, 0, len(rates))}
	for _, t := range rates {
		out.Data = append(out.Data, taxRateOut(t))
	}
	return respond(w, http.StatusOK, out)
}

// createTaxRateRequest is the body of POST /v1/admin/markets/{market}/tax-rates.
type createTaxRateRequest struct {
	Region      string  `json:"region"`
	Category    string  `json:"category"`
	Name        string  `json:"name"`
	RatePercent *string `json:"rate_percent"`
}

// createTaxRate adds a tax rate to a market.
func (s *Server) createTaxRate(w http.ResponseWriter, r *http.Request) error {
	var req createTaxRateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	code := r.PathValue("market")
	if _, err := s.Markets.Market(r.Context(), code); err != nil {
		return err // an unknown market is a 404 before any field error
	}
	rate, err := parseRatePercent(req.RatePercent)
	if err != nil {
		return err
	}
	t, err := s.Markets.CreateTaxRate(r.Context(), code, market.NewTaxRate{Region: req.Region, Category: req.Category, Name: req.Name, Rate: rate})
	if err != nil {
		return err
	}
	return created(w, "/v1/admin/tax-rates/"+t.ID, taxRateOut(t))
}

// updateTaxRateRequest is the body of PATCH /v1/admin/tax-rates/{rate}.
type updateTaxRateRequest struct {
	Region      *string `json:"region"`
	Category    *string `json:"category"`
	Name        *string `json:"name"`
	RatePercent *string `json:"rate_percent"`
}

// updateTaxRate changes a tax rate.
func (s *Server) updateTaxRate(w http.ResponseWriter, r *http.Request) error {
	var req updateTaxRateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	u := market.TaxRateUpdate{Region: req.Region, Category: req.Category, Name: req.Name}
	if req.RatePercent != nil {
		rate, err := parseRatePercent(req.RatePercent)
		if err != nil {
			return err
		}
		u.Rate = &rate
	}
	t, err := s.Markets.UpdateTaxRate(r.Context(), r.PathValue("rate"), u)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, taxRateOut(t))
}

// deleteTaxRate removes a tax rate.
func (s *Server) deleteTaxRate(w http.ResponseWriter, r *http.Request) error {
	if err := s.Markets.DeleteTaxRate(r.Context(), r.PathValue("rate")); err != nil {
		return err
	}
	return noContent(w)
}

// marketMoneyIn is an amount in a request; both fields are required.
type marketMoneyIn struct {
	Amount   *int64 `json:"amount"`
	Currency string `json:"currency"`
}

// money checks that both fields are present and returns the amount.
func (in *marketMoneyIn) money(v *shopd.Validation, field string) shopd.Money {
	v.Check(in.Amount != nil, field+".amount", "is required")
	v.Check(in.Currency != "", field+".currency", "is required")
	if in.Amount == nil {
		return shopd.Money{Currency: in.Currency}
	}
	return shopd.Money{Amount: *in.Amount, Currency: in.Currency}
}

// shippingRateJSON shows a shipping rate with formatted amounts.
type shippingRateJSON struct {
	ID              string     `json:"id"`
	Market          string     `json:"market"`
	Name            string     `json:"name"`
	Region          string     `json:"region"`
	Price           moneyJSON  `json:"price"`
	FreeAbove       *moneyJSON `json:"free_above,omitempty"`
	MinDeliveryDays int        `json:"min_delivery_days"`
	MaxDeliveryDays int        `json:"max_delivery_days"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func shippingRateOut(m market.Market, sr market.ShippingRate) shippingRateJSON {
	out := shippingRateJSON{ID: sr.ID, Market: sr.Market, Name: sr.Name, Region: sr.Region, Price: moneyOut(sr.Price, m.DefaultLocale),
		MinDeliveryDays: sr.MinDays, MaxDeliveryDays: sr.MaxDays, CreatedAt: sr.CreatedAt, UpdatedAt: sr.UpdatedAt}
	if sr.FreeAbove != nil {
		f := moneyOut(*sr.FreeAbove, m.DefaultLocale)
		out.FreeAbove = &f
	}
	return out
}

// listShippingRates lists a market's shipping rates.
func (s *Server) listShippingRates(w http.ResponseWriter, r *http.Request) error {
	code := r.PathValue("market")
	m, err := s.Markets.Market(r.Context(), code)
	if err != nil {
		return err
	}
	rates, err := s.Markets.ShippingRates(r.Context(), code)
	if err != nil {
		return err
	}
	out := List[shippingRateJSON]{Data: make([]shippingRateJSON, 0, len(rates))}
	for _, sr := range rates {
		out.Data = append(out.Data, shippingRateOut(m, sr))
	}
	return respond(w, http.StatusOK, out)
}

// createShippingRateRequest is the body of POST
// /v1/admin/markets/{market}/shipping-rates.
type createShippingRateRequest struct {
	Name            string         `json:"name"`
	Region          string         `json:"region"`
	Price           *marketMoneyIn `json:"price"`
	FreeAbove       *marketMoneyIn `json:"free_above"`
	MinDeliveryDays *int           `json:"min_delivery_days"`
	MaxDeliveryDays *int           `json:"max_delivery_days"`
}

// createShippingRate adds a shipping rate to a market.
func (s *Server) createShippingRate(w http.ResponseWriter, r *http.Request) error {
	var req createShippingRateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	m, err := s.Markets.Market(r.Context(), r.PathValue("market"))
	if err != nil {
		return err
	}
	in := market.NewShippingRate{Name: req.Name, Region: req.Region}
	var v shopd.Validation
	if v.Check(req.Price != nil, "price", "is required") {
		in.Price = req.Price.money(&v, "price")
	}
	if req.FreeAbove != nil {
		f := req.FreeAbove.money(&v, "free_above")
		in.FreeAbove = &f
	}
	if req.MinDeliveryDays != nil {
		in.MinDays = *req.MinDeliveryDays
	}
	in.MaxDays = in.MinDays // a single figure means "in that many days"
	if req.MaxDeliveryDays != nil {
		in.MaxDays = *req.MaxDeliveryDays
	}
	if err := v.Err(); err != nil {
		return err
	}
	sr, err := s.Markets.CreateShippingRate(r.Context(), m.Code, in)
	if err != nil {
		return err
	}
	return created(w, "/v1/admin/shipping-rates/"+sr.ID, shippingRateOut(m, sr))
}

// updateShippingRateRequest is the body of PATCH
// /v1/admin/shipping-rates/{rate}; "free_above": null removes the threshold.
type updateShippingRateRequest struct {
	Name            *string         `json:"name"`
	Region          *string         `json:"region"`
	Price           *marketMoneyIn  `json:"price"`
	FreeAbove       json.RawMessage `json:"free_above"`
	MinDeliveryDays *int            `json:"min_delivery_days"`
	MaxDeliveryDays *int            `json:"max_delivery_days"`
}

// updateShippingRate changes a shipping rate.
func (s *Server) updateShippingRate(w http.ResponseWriter, r *http.Request) error {
	var req updateShippingRateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	u := market.ShippingRateUpdate{Name: req.Name, Region: req.Region, MinDays: req.MinDeliveryDays, MaxDays: req.MaxDeliveryDays}
	var v shopd.Validation
	if req.Price != nil {
		p := req.Price.money(&v, "price")
		u.Price = &p
	}
	if req.FreeAbove != nil {
		u.SetFreeAbove = true
		if !bytes.Equal(bytes.TrimSpace(req.FreeAbove), []byte("null")) {
			var in marketMoneyIn
			dec := json.NewDecoder(bytes.NewReader(req.FreeAbove))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				v.Addf("free_above", "must be null or an object {amount, currency}")
			} else {
				f := in.money(&v, "free_above")
				u.FreeAbove = &f
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	sr, err := s.Markets.UpdateShippingRate(r.Context(), r.PathValue("rate"), u)
	if err != nil {
		return err
	}
	m, err := s.Markets.Market(r.Context(), sr.Market)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, shippingRateOut(m, sr))
}

// deleteShippingRate removes a shipping rate.
func (s *Server) deleteShippingRate(w http.ResponseWriter, r *http.Request) error {
	if err := s.Markets.DeleteShippingRate(r.Context(), r.PathValue("rate")); err != nil {
		return err
	}
	return noContent(w)
}
