package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/inventory"
)

// listWarehouses lists every warehouse by priority, then code.
func (s *Server) listWarehouses(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.Inventory.Warehouses(r.Context())
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, List[inventory.Warehouse]{Data: ws})
}

// createWarehouse adds a warehouse.
func (s *Server) createWarehouse(w http.ResponseWriter, r *http.Request) error {
	var req inventory.NewWarehouse
	if err := decode(r, &req); err != nil {
		return err
	}
	wh, err := s.Inventory.CreateWarehouse(r.Context(), req)
	if err != nil {
		return err
	}
	return created(w, "/v1/admin/warehouses/"+wh.ID, wh)
}

// getWarehouse returns a warehouse by ID or code.
func (s *Server) getWarehouse(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.Inventory.Warehouse(r.Context(), r.PathValue("warehouse"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, wh)
}

// updateWarehouseRequest is the body of PATCH /v1/admin/warehouses/{warehouse}.
// The code is accepted only to be refused with a clear message: warehouse
// systems and imports name the warehouse by it.
type updateWarehouseRequest struct {
	Name     *string         `json:"name"`
	Markets  *[]string       `json:"markets"`
	Priority *int            `json:"priority"`
	Region   *string         `json:"region"`
	Active   *bool           `json:"active"`
	Code     json.RawMessage `json:"code"`
}

// updateWarehouse changes a warehouse's name, markets, priority, region or
// active flag.
func (s *Server) updateWarehouse(w http.ResponseWriter, r *http.Request) error {
	var req updateWarehouseRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Code != nil {
		var v shopd.Validation
		v.Addf("code", "cannot be changed: warehouse systems and imports name the warehouse by it; create a new warehouse instead")
		return v.Err()
	}
	wh, err := s.Inventory.UpdateWarehouse(r.Context(), r.PathValue("warehouse"), inventory.WarehouseUpdate{
		Name: req.Name, Markets: req.Markets, Priority: req.Priority, Region: req.Region, Active: req.Active,
	})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, wh)
}

// syncRequest is the body of POST /v1/admin/warehouses/{warehouse}/sync.
type syncRequest struct {
	Sequence int64             `json:"sequence"`
	Counts   []inventory.Count `json:"counts"`
}

// syncWarehouse applies a snapshot of absolute counts from the warehouse
// system; a replay of the last snapshot answers applied: false.
func (s *Server) syncWarehouse(w http.ResponseWriter, r *http.Request) error {
	var req syncRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := s.Inventory.Sync(r.Context(), inventory.Sync{
		Warehouse: r.PathValue("warehouse"), Sequence: req.Sequence, Counts: req.Counts, StaffKeyID: callerFrom(r).staffKey.ID,
	})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, res)
}

// stockJSON is a stock row with its derived levels.
type stockJSON struct {
	SKU               string    `json:"sku"`
	Warehouse         string    `json:"warehouse"`
	WarehouseID       string    `json:"warehouse_id"`
	OnHand            int64     `json:"on_hand"`
	Reserved          int64     `json:"reserved"`
	Available         int64     `json:"available"`
	ShortBy           int64     `json:"short_by"`
	LowStockThreshold *int64    `json:"low_stock_threshold"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func stockOut(st inventory.Stock) stockJSON {
	return stockJSON{SKU: st.SKU, Warehouse: st.Warehouse, WarehouseID: st.WarehouseID, OnHand: st.OnHand, Reserved: st.Reserved,
		Available: st.Available(), ShortBy: st.ShortBy(), LowStockThreshold: st.LowStockThreshold, UpdatedAt: st.UpdatedAt}
}

// listStock lists stock rows by SKU, then warehouse ID.
func (s *Server) listStock(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", inventory.DefaultPageSize, 1, inventory.MaxPageSize)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.Inventory.Stock(r.Context(), inventory.StockFilter{SKU: q.Get("sku"), Warehouse: q.Get("warehouse"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := List[stockJSON]{Data: make([]stockJSON, 0, len(page.Stock)), NextCursor: page.NextCursor}
	for _, st := range page.Stock {
		out.Data = append(out.Data, stockOut(st))
	}
	return respond(w, http.StatusOK, out)
}

// receiveRequest is the body of POST /v1/admin/stock/receive.
type receiveRequest struct {
	Warehouse         string `json:"warehouse"`
	SKU               string `json:"sku"`
	Quantity          int64  `json:"quantity"`
	Reference         string `json:"reference"`
	Note              string `json:"note"`
	LowStockThreshold *int64 `json:"low_stock_threshold"`
}

// receiveStock records goods received into a warehouse.
func (s *Server) receiveStock(w http.ResponseWriter, r *http.Request) error {
	var req receiveRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := s.Inventory.Receive(r.Context(), inventory.Receipt{Warehouse: req.Warehouse, SKU: req.SKU, Quantity: req.Quantity,
		Reference: req.Reference, Note: req.Note, LowStockThreshold: req.LowStockThreshold, StaffKeyID: callerFrom(r).staffKey.ID})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, stockOut(st))
}

// adjustRequest is the body of POST /v1/admin/stock/adjust.
type adjustRequest struct {
	Warehouse         string `json:"warehouse"`
	SKU               string `json:"sku"`
	Delta             int64  `json:"delta"`
	Reason            string `json:"reason"`
	LowStockThreshold *int64 `json:"low_stock_threshold"`
}

// adjustStock corrects on hand by a signed delta.
func (s *Server) adjustStock(w http.ResponseWriter, r *http.Request) error {
	var req adjustRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := s.Inventory.Adjust(r.Context(), inventory.Adjustment{Warehouse: req.Warehouse, SKU: req.SKU, Delta: req.Delta,
		Reason: req.Reason, LowStockThreshold: req.LowStockThreshold, StaffKeyID: callerFrom(r).staffKey.ID})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, stockOut(st))
}

// transferRequest is the body of POST /v1/admin/stock/transfer.
type transferRequest struct {
	From      string `json:"from"`
	To        string `json:"to"`
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Reference string `json:"reference"`
	Note      string `json:"note"`
}

// transferJSON is the result of a transfer: both rows afterwards.
type transferJSON struct {
	Reference string    `json:"reference"`
	From      stockJSON `json:"from"`
	To        stockJSON `json:"to"`
}

// transferStock moves available units between warehouses.
func (s *Server) transferStock(w http.ResponseWriter, r *http.Request) error {
	var req transferRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := s.Inventory.Transfer(r.Context(), inventory.Transfer{From: req.From, To: req.To, SKU: req.SKU, Quantity: req.Quantity,
		Reference: req.Reference, Note: req.Note, StaffKeyID: callerFrom(r).staffKey.ID})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, transferJSON{Reference: res.Reference, From: stockOut(res.From), To: stockOut(res.To)})
}

// listMovements lists the ledger, newest first.
func (s *Server) listMovements(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", inventory.DefaultPageSize, 1, inventory.MaxPageSize)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.Inventory.Movements(r.Context(), inventory.MovementFilter{SKU: q.Get("sku"), Warehouse: q.Get("warehouse"),
		Kind: inventory.MovementKind(q.Get("kind")), Reference: q.Get("reference"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, List[inventory.Movement]{Data: page.Movements, NextCursor: page.NextCursor})
}
