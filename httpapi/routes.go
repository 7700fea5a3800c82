package httpapi

import "github.com/shopd/shopd/staff"

// route is one endpoint: method, ServeMux path pattern (the same text as the
// OpenAPI path), who may call it, and the handler.
type route struct {
	method  string
	pattern string
	access  access
	handle  handlerFunc
}

// routes lists every endpoint of the API. A test checks that this list and
// the OpenAPI document (api/*.yaml) describe exactly the same operations.
func (s *Server) routes() []route {
	const (
		owner    = staff.RoleOwner
		admin    = staff.RoleAdmin
		support  = staff.RoleSupport
		readOnly = staff.RoleReadOnly
	)
	return []route{
		// Operations.
		{"GET", "/livez", public, s.livez},
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/metrics", public, s.metrics},
		{"GET", "/v1/openapi.json", public, s.openAPI},

		// Storefront: markets and catalog.
		{"GET", "/v1/markets", public, s.listPublicMarkets},
		{"GET", "/v1/products", public, s.listProducts},
		{"GET", "/v1/products/{product}", public, s.getProduct},

		// Storefront: accounts.
		{"POST", "/v1/customers", public, s.register},
		{"POST", "/v1/sessions", public, s.login},
		{"DELETE", "/v1/sessions/current", customerOnly, s.logout},
		{"GET", "/v1/me", customerOnly, s.getMe},
		{"PATCH", "/v1/me", customerOnly, s.updateMe},
		{"GET", "/v1/me/profile", customerOnly, s.getProfile},
		{"PUT", "/v1/me/profile", customerOnly, s.setProfile},
		{"GET", "/v1/me/addresses", customerOnly, s.listAddresses},
		{"POST", "/v1/me/addresses", customerOnly, s.createAddress},
		{"GET", "/v1/me/addresses/{address}", customerOnly, s.getAddress},
		{"DELETE", "/v1/me/addresses/{address}", customerOnly, s.deleteAddress},

		// Staff: markets, taxes, shipping.
		{"GET", "/v1/admin/markets", staffRole(readOnly), s.listMarkets},
		{"GET", "/v1/admin/markets/{market}", staffRole(readOnly), s.getMarket},
		{"PATCH", "/v1/admin/markets/{market}", staffRole(admin), s.updateMarket},
		{"GET", "/v1/admin/markets/{market}/tax-rates", staffRole(readOnly), s.listTaxRates},
		{"POST", "/v1/admin/markets/{market}/tax-rates", staffRole(admin), s.createTaxRate},
		{"PATCH", "/v1/admin/tax-rates/{rate}", staffRole(admin), s.updateTaxRate},
		{"DELETE", "/v1/admin/tax-rates/{rate}", staffRole(admin), s.deleteTaxRate},
		{"GET", "/v1/admin/markets/{market}/shipping-rates", staffRole(readOnly), s.listShippingRates},
		{"POST", "/v1/admin/markets/{market}/shipping-rates", staffRole(admin), s.createShippingRate},
		{"PATCH", "/v1/admin/shipping-rates/{rate}", staffRole(admin), s.updateShippingRate},
		{"DELETE", "/v1/admin/shipping-rates/{rate}", staffRole(admin), s.deleteShippingRate},

		// Staff: catalog.
		{"GET", "/v1/admin/products", staffRole(readOnly), s.adminListProducts},
		{"POST", "/v1/admin/products", staffRole(admin), s.createProduct},
		{"GET", "/v1/admin/products/{product}", staffRole(readOnly), s.adminGetProduct},
		{"PATCH", "/v1/admin/products/{product}", staffRole(admin), s.updateProduct},
		{"POST", "/v1/admin/products/{product}/archive", staffRole(admin), s.archiveProduct},
		{"POST", "/v1/admin/products/{product}/variants", staffRole(admin), s.createVariant},
		{"PATCH", "/v1/admin/variants/{variant}", staffRole(admin), s.updateVariant},
		{"PUT", "/v1/admin/variants/{variant}/prices/{market}", staffRole(admin), s.setPrice},
		{"DELETE", "/v1/admin/variants/{variant}/prices/{market}", staffRole(admin), s.deletePrice},

		// Staff: customers, keys, audit.
		{"GET", "/v1/admin/customers", staffRole(support), s.adminListCustomers},
		{"GET", "/v1/admin/customers/{customer}", staffRole(support), s.adminGetCustomer},
		{"GET", "/v1/admin/customers/{customer}/profile", staffRole(support), s.adminGetCustomerProfile},
		{"GET", "/v1/admin/api-keys", staffRole(owner), s.listAPIKeys},
		{"POST", "/v1/admin/api-keys", staffRole(owner), s.createAPIKey},
		{"DELETE", "/v1/admin/api-keys/{key}", staffRole(owner), s.revokeAPIKey},
		{"GET", "/v1/admin/audit-log", staffRole(admin), s.listAuditLog},
		{"GET", "/v1/admin/events", staffRole(readOnly), s.listEvents},

		// Staff: warehouses and stock.
		{"GET", "/v1/admin/warehouses", staffRole(readOnly), s.listWarehouses},
		{"POST", "/v1/admin/warehouses", staffRole(admin), s.createWarehouse},
		{"GET", "/v1/admin/warehouses/{warehouse}", staffRole(readOnly), s.getWarehouse},
		{"PATCH", "/v1/admin/warehouses/{warehouse}", staffRole(admin), s.updateWarehouse},
		{"POST", "/v1/admin/warehouses/{warehouse}/sync", staffRole(admin), s.syncWarehouse},
		{"GET", "/v1/admin/stock", staffRole(readOnly), s.listStock},
		{"POST", "/v1/admin/stock/receive", staffRole(admin), s.receiveStock},
		{"POST", "/v1/admin/stock/adjust", staffRole(admin), s.adjustStock},
		{"POST", "/v1/admin/stock/transfer", staffRole(admin), s.transferStock},
		{"GET", "/v1/admin/stock/movements", staffRole(readOnly), s.listMovements},

		// Checkout: a guest or a customer buys a cart.
		{"POST", "/v1/checkouts", public, s.checkoutLimited}, // behind the waiting room and rate limits (admission.go)

		// Orders: customers see their own, staff see all.
		{"GET", "/v1/orders", customerOnly, s.listMyOrders},
		{"GET", "/v1/orders/{order}", customerOnly, s.getMyOrder},
		{"GET", "/v1/admin/orders", staffRole(support), s.adminListOrders},
		{"GET", "/v1/admin/orders/{order}", staffRole(support), s.adminGetOrder},
		{"POST", "/v1/admin/orders/{order}/cancel", staffRole(support), s.cancelOrder},
		{"POST", "/v1/admin/orders/{order}/refunds", staffRole(support), s.refundOrder},
		{"POST", "/v1/admin/orders/{order}/fulfillments", staffRole(support), s.fulfillOrder},
		{"POST", "/v1/admin/orders/{order}/deliver", staffRole(support), s.deliverOrder},
		{"POST", "/v1/admin/orders/{order}/returns", staffRole(support), s.returnOrder},

		// Storefront: carts (a guest cart is reached by its unguessable ID; a
		// customer's cart only with that customer's session).
		{"POST", "/v1/carts", public, s.createCart},
		{"GET", "/v1/carts/{cart}", public, s.getCart},
		{"POST", "/v1/carts/{cart}/lines", public, s.addCartLine},
		{"PATCH", "/v1/carts/{cart}/lines/{line}", public, s.updateCartLine},
		{"DELETE", "/v1/carts/{cart}/lines/{line}", public, s.removeCartLine},
		{"POST", "/v1/carts/{cart}/discounts", public, s.applyDiscount},
		{"DELETE", "/v1/carts/{cart}/discounts/{code}", public, s.removeDiscount},

		// Staff: discount codes.
		{"GET", "/v1/admin/discounts", staffRole(readOnly), s.listDiscounts},
		{"POST", "/v1/admin/discounts", staffRole(admin), s.createDiscount},
		{"GET", "/v1/admin/discounts/{discount}", staffRole(readOnly), s.getDiscount},
		{"PATCH", "/v1/admin/discounts/{discount}", staffRole(admin), s.updateDiscount},

		// Payments.
		{"GET", "/v1/admin/payments", staffRole(support), s.listPayments},
		{"GET", "/v1/admin/payments/{payment}", staffRole(support), s.getPayment},
		{"GET", "/v1/admin/test-gateway/charges", staffRole(readOnly), s.listTestGatewayCharges},
		{"POST", "/v1/webhooks/stripe", public, s.stripeWebhook},

		// Subscriptions: plans in a market, a customer's own subscriptions.
		{"GET", "/v1/plans", public, s.listPlans},
		{"POST", "/v1/subscriptions", customerOnly, s.subscribe},
		{"GET", "/v1/subscriptions", customerOnly, s.listMySubscriptions},
		{"GET", "/v1/subscriptions/{subscription}", customerOnly, s.getMySubscription},
		{"POST", "/v1/subscriptions/{subscription}/pause", customerOnly, s.pauseSubscription},
		{"POST", "/v1/subscriptions/{subscription}/skip", customerOnly, s.skipSubscription},
		{"POST", "/v1/subscriptions/{subscription}/resume", customerOnly, s.resumeSubscription},
		{"POST", "/v1/subscriptions/{subscription}/cancel", customerOnly, s.cancelSubscription},
		{"POST", "/v1/subscriptions/{subscription}/change-plan", customerOnly, s.changeSubscriptionPlan},
		{"POST", "/v1/subscriptions/{subscription}/payment-method", customerOnly, s.updateSubscriptionPaymentMethod},
		{"GET", "/v1/subscriptions/{subscription}/invoices", customerOnly, s.listMyInvoices},
		{"GET", "/v1/subscriptions/{subscription}/boxes", customerOnly, s.listMyBoxes},

		// Staff: plans and every subscription.
		{"GET", "/v1/admin/plans", staffRole(readOnly), s.adminListPlans},
		{"POST", "/v1/admin/plans", staffRole(admin), s.createPlan},
		{"GET", "/v1/admin/plans/{plan}", staffRole(readOnly), s.getPlan},
		{"PATCH", "/v1/admin/plans/{plan}", staffRole(admin), s.updatePlan},
		{"DELETE", "/v1/admin/plans/{plan}", staffRole(admin), s.deletePlan},
		{"GET", "/v1/admin/subscriptions", staffRole(support), s.adminListSubscriptions},
		{"GET", "/v1/admin/subscriptions/{subscription}", staffRole(support), s.adminGetSubscription},
		{"POST", "/v1/admin/subscriptions/{subscription}/pause", staffRole(support), s.pauseSubscription},
		{"POST", "/v1/admin/subscriptions/{subscription}/skip", staffRole(support), s.skipSubscription},
		{"POST", "/v1/admin/subscriptions/{subscription}/resume", staffRole(support), s.resumeSubscription},
		{"POST", "/v1/admin/subscriptions/{subscription}/cancel", staffRole(support), s.cancelSubscription},
		{"POST", "/v1/admin/subscriptions/{subscription}/change-plan", staffRole(support), s.changeSubscriptionPlan},
		{"POST", "/v1/admin/subscriptions/{subscription}/payment-method", staffRole(support), s.updateSubscriptionPaymentMethod},
		{"GET", "/v1/admin/invoices", staffRole(support), s.adminListInvoices},
		{"GET", "/v1/admin/invoices/{invoice}", staffRole(support), s.adminGetInvoice},
		{"POST", "/v1/admin/billing/runs", staffRole(admin), s.runBilling},

		// Staff: box plans' period pools and allocation runs.
		{"GET", "/v1/admin/plans/{plan}/pools/{period}", staffRole(readOnly), s.getPool},
		{"PUT", "/v1/admin/plans/{plan}/pools/{period}", staffRole(admin), s.setPool},
		{"GET", "/v1/admin/box-runs", staffRole(readOnly), s.listRuns},
		{"POST", "/v1/admin/box-runs", staffRole(admin), s.runAllocation},
		{"GET", "/v1/admin/box-runs/{run}", staffRole(readOnly), s.getRun},
		{"GET", "/v1/admin/box-runs/{run}/boxes", staffRole(support), s.listRunBoxes},
		{"POST", "/v1/admin/box-runs/{run}/approve", staffRole(admin), s.approveRun},
		{"POST", "/v1/admin/box-runs/{run}/discard", staffRole(admin), s.discardRun},
	}
}

// returnsSecret lists the operations whose responses carry a secret (a
// session token, an API key). shopd never stores a secret in the clear, so
// these responses are not kept for Idempotency-Key replay; each operation is
// safe to retry as it is (register answers 409 email-taken, login opens
// another session, a second API key can be revoked).
var returnsSecret = map[string]bool{
	"POST /v1/customers":      true,
	"POST /v1/sessions":       true,
	"POST /v1/admin/api-keys": true,
}

// Routes returns every route as "METHOD /pattern", for the test that checks
// routes against the OpenAPI document.
func Routes() []string {
	var out []string
	for _, r := range (&Server{}).routes() {
		out = append(out, r.method+" "+r.pattern)
	}
	return out
}
