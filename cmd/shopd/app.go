package main

import (
	"context"
	"fmt"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/orderops"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/staff"
	"github.com/shopd/shopd/subscription"
)

// app is a migrated store with every service wired to it.
type app struct {
	db        *sqlstore.DB
	clock     shopd.Clock
	markets   *market.Service
	catalog   *catalog.Service
	customers *customer.Service
	staff     *staff.Service
	events    *event.Service
	orders    *order.Service
	inventory *inventory.Service
	carts     *cart.Service
	// payments and checkout exist after withPayments.
	payments    *payment.Service
	checkout    *checkout.Service
	orderOps    *orderops.Service
	idempotency *idempotency.Service
	// subscriptions serves plans and subscriptions; biller runs renewals
	// (after withPayments).
	subscriptions *subscription.Service
	biller        *subscription.Biller
	// boxes runs box plans' pools and allocations.
	boxes *box.Service
}

// openApp opens the store, applies pending migrations, wires the services
// and makes sure the default markets exist.
func openApp(ctx context.Context, d platform.Database) (*app, error) {
	return openAppAt(ctx, d, shopd.SystemClock{})
}

// openAppAt is openApp with every service on clock (`shopd bill --now`).
func openAppAt(ctx context.Context, d platform.Database, clock shopd.Clock) (*app, error) {
	if err := d.Validate(); err != nil {
		return nil, usagef("%v", err)
	}
	db, err := sqlstore.Open(ctx, d.Source(), sqlstore.Options{Clock: clock})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a := &app{
		db:          db,
		clock:       clock,
		markets:     market.NewService(db.Markets(), clock),
		customers:   customer.NewService(db.Customers(), clock),
		staff:       staff.NewService(db.Staff(), clock),
		events:      event.NewService(db.Events()),
		orders:      order.NewService(db.Orders(), clock),
		idempotency: &idempotency.Service{Store: db.Idempotency(), Clock: clock},
	}
	a.catalog = catalog.NewService(db.Catalog(), a.markets, clock)
	a.customers.Markets = a.markets
	a.inventory = inventory.NewService(db.Inventory(), clock)
	a.inventory.Markets = a.markets
	a.carts = cart.NewService(db.Carts(), clock)
	a.carts.Catalog, a.carts.Markets = a.catalog, a.markets
	a.subscriptions = subscription.NewService(db.Subscriptions(), clock, a.markets, a.catalog)
	a.boxes = box.NewService(db.Boxes(), a.subscriptions, a.catalog, a.markets, clock)
	if err := a.markets.EnsureDefaults(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) Close() error {
	if a.checkout != nil {
		a.checkout.Close() // its batches write to the database
	}
	return a.db.Close()
}

// withPayments wires the payment gateways, checkout and billing. Checkout
// and billing register their settle hooks with the payment service here, so
// that every process that can settle a payment (serve, its worker,
// `payments reconcile`, `bill`) moves the payment's order or invoice in the
// same transaction.
func (a *app) withPayments(pf paymentFlags) error {
	svc, err := pf.paymentService(a)
	if err != nil {
		return err
	}
	a.payments = svc
	a.subscriptions.CutoffDay = *pf.boxCutoffDay
	rules, err := pf.billingRules()
	if err != nil {
		return err
	}
	a.checkout = checkout.NewService(a.db.Checkout(), a.carts, a.inventory, a.payments, a.clock)
	a.biller = subscription.NewBiller(a.db.Billing(), a.payments, a.markets, a.clock, rules)
	a.orderOps = orderops.NewService(a.db.OrderOps(), a.payments, a.clock)
	return nil
}

func migrateCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("migrate", "[--data-dir DIR | --database-url URL]", "Applies pending database migrations and exits. `shopd serve` also migrates at start.")
	d := platform.BindDatabase(f)
	if err := parse(f, args); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return usagef("%v", err)
	}
	db, err := sqlstore.Open(ctx, d.Source(), sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "applied %d migrations to %s %s\n", n, db.Dialect(), db.Source())
	return nil
}

func adminCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "create-key" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(c.stderr, "Usage: shopd admin create-key --role ROLE [--name NAME]\n")
			return nil
		}
		return usagef("use `shopd admin create-key --role ROLE`")
	}
	f := c.flags("admin create-key", "--role owner|admin|support|read_only [--name NAME] [--data-dir DIR | --database-url URL]",
		"Creates a staff API key and prints only the key on stdout, so scripts can capture it:\n  KEY=$(shopd admin create-key --role admin)")
	d := platform.BindDatabase(f)
	role := f.String("role", "", "", "owner, admin, support or read_only (required)")
	name := f.String("name", "", "", "a name to recognise the key by (default: cli ROLE)")
	if err := parse(f, args[1:]); err != nil {
		return err
	}
	if !staff.Role(*role).Valid() {
		return usagef("--role must be owner, admin, support or read_only")
	}
	if *name == "" {
		*name = "cli " + *role
	}
	a, err := openApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.Close()
	_, secret, err := a.staff.CreateKey(ctx, *name, staff.Role(*role))
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, secret)
	return nil
}
