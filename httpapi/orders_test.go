package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// placeOrder stores an order for a customer as checkout would.
func (e *env) placeOrder(customerID string) order.Order {
	e.t.Helper()
	o := storetest.SampleOrder(customerID, testStart)
	if err := e.db.InTx(context.Background(), func(tx *sqlstore.Tx) error { return tx.InsertOrder(context.Background(), o) }); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// register makes a customer and returns its ID and session token.
func (e *env) register(email string) (id, token string) {
	e.t.Helper()
	var reg struct {
		Customer struct{ ID string }
		Session  struct{ Token string }
	}
	e.do("POST", "/v1/customers", map[string]string{"email": email, "password": "password " + email}).want(e.t, 201).JSON(e.t, &reg)
	return reg.Customer.ID, reg.Session.Token
}

func TestOrdersAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		a, tokA := e.register("a@example.com")
		_, tokB := e.register("b@example.com")
		o1, o2 := e.placeOrder(a), e.placeOrder(a)

		var page struct {
			Data []struct {
				ID    string
				Total struct {
					Amount    int64
					Formatted string
				}
				Lines []struct{ SKU string }
			}
			NextCursor string `json:"next_cursor"`
		}
		e.do("GET", "/v1/orders?limit=1", nil, as(tokA)).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != o2.ID || page.NextCursor != o2.ID || page.Data[0].Total.Formatted != "$50.92" || page.Data[0].Lines[0].SKU != "GLOW-30" {
			t.Fatalf("first page %+v", page)
		}
		cursor := page.NextCursor
		page.NextCursor = ""
		e.do("GET", "/v1/orders?limit=1&cursor="+cursor, nil, as(tokA)).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != o1.ID {
			t.Fatalf("second page %+v", page)
		}
		e.do("GET", "/v1/orders/"+o1.ID, nil, as(tokA)).want(t, 200)

		// Another customer sees none of them: an empty list and 404s.
		e.do("GET", "/v1/orders", nil, as(tokB)).want(t, 200).JSON(t, &page)
		if len(page.Data) != 0 {
			t.Fatalf("customer B sees %d orders", len(page.Data))
		}
		e.do("GET", "/v1/orders/"+o1.ID, nil, as(tokB)).wantProblem(t, 404, "order-not-found")
		e.do("GET", "/v1/orders/ord_nope", nil, as(tokA)).wantProblem(t, 404, "order-not-found")
		e.do("GET", "/v1/orders", nil).wantProblem(t, 401, "unauthorized")
		e.do("GET", "/v1/orders", nil, as(e.keys[staff.RoleOwner])).wantProblem(t, 403, "forbidden")

		// Staff search everything; read_only may not (orders hold personal data).
		support := as(e.keys[staff.RoleSupport])
		e.do("GET", "/v1/admin/orders?email=A@example.com&status=pending_payment", nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 0 { // SampleOrder's email is ana@example.com
			t.Fatalf("email filter matched %d", len(page.Data))
		}
		e.do("GET", "/v1/admin/orders?email=ANA@example.com&customer="+a, nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 2 {
			t.Fatalf("staff search found %d orders, want 2", len(page.Data))
		}
		e.do("GET", "/v1/admin/orders/"+o2.ID, nil, support).want(t, 200)
		e.do("GET", "/v1/admin/orders?status=lost", nil, support).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/orders?limit=101", nil, support).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/orders", nil, as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
		e.do("GET", "/v1/admin/orders", nil, as(tokA)).wantProblem(t, 403, "forbidden")
		if r := e.do("GET", "/v1/orders/"+o1.ID, nil, as(tokA)); !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("order responses must not be cached: %q", r.Header.Get("Cache-Control"))
		}
	})
}

// TestOrdersFullPage: a full page of the largest size still names the next
// page (a page query asks for one row more than the page).
func TestOrdersFullPage(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	for range 101 {
		e.placeOrder("cus_many")
	}
	var page struct {
		Data       []struct{ ID string }
		NextCursor string `json:"next_cursor"`
	}
	support := as(e.keys[staff.RoleSupport])
	e.do("GET", "/v1/admin/orders?limit=100", nil, support).want(t, 200).JSON(t, &page)
	if len(page.Data) != 100 || page.NextCursor == "" {
		t.Fatalf("first page: %d orders, cursor %q", len(page.Data), page.NextCursor)
	}
	cursor := page.NextCursor
	page.NextCursor = ""
	e.do("GET", "/v1/admin/orders?limit=100&cursor="+cursor, nil, support).want(t, 200).JSON(t, &page)
	if len(page.Data) != 1 || page.NextCursor != "" {
		t.Fatalf("second page: %d orders, cursor %q", len(page.Data), page.NextCursor)
	}
}
