package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/shopd/shopd/loadtest"
)

// errInvariant is returned when a load test ran but broke an invariant; the
// report is already written.
var errInvariant = errors.New("invariant broken")

func loadtestCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("loadtest", "SCENARIO --target URL --admin-key KEY [flags]",
		"Drives a running shopd over HTTP and reports throughput, latency per step and the invariants.\n"+
			"It sets up its own data with the admin key: the warehouse \""+loadtest.WarehouseCode+"\" serving "+loadtest.Market+" (made if\n"+
			"missing), a product with a SKU unique to the run, and --stock units of it.\n\n"+
			"Scenarios:\n"+
			"  browse    open loop at --rate requests/s for --duration: product pages and a filtered list,\n"+
			"            some revalidated with If-None-Match (304s are counted)\n"+
			"  catalog   the product page and a filtered list against a bare net/http handler answering a fixed\n"+
			"            1 KB JSON (--reference; by default `shopd reference-server`, started here on 127.0.0.1):\n"+
			"            closed loop, each kind in turn for --duration divided among them, twice; reports each\n"+
			"            kind's requests/s and p99 and their ratios to the reference's\n"+
			"  drop      --shoppers arrive evenly over --ramp; each reads the product, makes a cart, adds one\n"+
			"            unit and checks out as a guest with tok_visa (--abandon of them leave after the cart);\n"+
			"            a checkout put in shopd's waiting room (202 with Queue-Ticket) steps aside for its\n"+
			"            retry_after_ms (else Retry-After) and comes back with the ticket; a 429 queue-full or\n"+
			"            rate-limited is retried after Retry-After; shoppers give up after --patience\n"+
			"  renewals  makes a replenishment plan of the run's SKU (one unit a month, a 1-day trial;\n"+
			"            --plan-kind box: a box plan, billed without orders),\n"+
			"            registers a customer per 100 of --subscriptions and subscribes them (tok_visa);\n"+
			"            browses as above alone for --duration, then bills them all in one billing run\n"+
			"            (POST /v1/admin/billing/runs as of their trial end: the test clock, so the server\n"+
			"            must pay with the test gateway only) while browsing on; reports renewals/s and\n"+
			"            the storefront's latency during the run against before it\n"+
			"  mixed     browse alone for --duration, then a drop and (unless --subscriptions 0) a billing\n"+
			"            run of a plan with a SKU of its own, both at once, while browsing on; one report\n\n"+
			"Latency counts from each request's intended send time, so waiting for a busy server counts.\n"+
			"Browsing beside other work has connections of its own (--connections of them).\n"+
			"Afterwards units sold are read from the stock, invoices from the admin API and charges\n"+
			"from the test gateway's ledger. The server should be the run's alone.\n"+
			"Exit status 1 on any oversell, double charge or 5xx answer.")
	target := f.String("target", "SHOPD_LOADTEST_TARGET", "http://127.0.0.1:8080", "base URL of the shopd to drive")
	key := f.String("admin-key", "SHOPD_ADMIN_KEY", "", "staff API key with the admin role (shopd admin create-key --role admin)")
	storefront := f.String("storefront", "", "", "base URL the storefront's catalog reads go to instead of --target: a `shopd serve --role storefront` on the same store (set-up, carts and checkouts still go to --target)")
	shoppers := f.Int("shoppers", "", 2000, "drop, mixed: virtual shoppers")
	stock := f.Int("stock", "", 200, "units of the run's SKU received before the run (browse: 0 unless set; renewals: --subscriptions unless set, 0 for a box plan)")
	ramp := f.Duration("ramp", "", 2*time.Second, "drop, mixed: shoppers arrive evenly over this time")
	abandon := f.Int("abandon", "", 10, "drop, mixed: percentage of shoppers who leave after adding to the cart")
	patience := f.Duration("patience", "", 2*time.Minute, "drop, mixed: how long a shopper keeps trying a checkout that is queued or refused with 429")
	duration := f.Duration("duration", "", 10*time.Second, "browse: how long to send requests; catalog: all its phases together; renewals, mixed: how long to browse before the work starts")
	reference := f.String("reference", "", "", "catalog: base URL of the reference server (default: start `shopd reference-server` on 127.0.0.1)")
	rate := f.Int("rate", "", 1000, "browse, renewals, mixed: storefront requests per second")
	subscriptions := f.Int("subscriptions", "", 1000, "renewals, mixed: subscriptions billed in the run (mixed: 0 for no billing run)")
	planKind := f.String("plan-kind", "", loadtest.PlanReplenishment, "renewals, mixed: the plan's kind: "+loadtest.PlanReplenishment+
		" (each period's order sells a unit of the run's SKU as its payment settles) or "+loadtest.PlanBox+" (invoiced and charged only)")
	conns := f.Int("connections", "", 64, "HTTP connections to shopd (requests in flight at most)")
	timeout := f.Duration("timeout", "", 30*time.Second, "bound on one request (the billing run is one request)")
	asJSON := f.Bool("json", "", false, "write the report as JSON and no progress lines")
	pos, err := parseWithArgs(f, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one scenario: %s", strings.Join(loadtest.Scenarios, ", "))
	}
	if *abandon < 0 || *abandon > 100 {
		return usagef("--abandon must be a percentage from 0 to 100")
	}
	if !isSet(f.FlagSet, "stock") {
		switch pos[0] {
		case "browse":
			*stock = 0 // browsing needs no stock
		case "renewals":
			if *planKind != loadtest.PlanBox {
				*stock = *subscriptions // a unit for each renewal's order
			} else {
				*stock = 0
			}
		}
	}
	cfg := loadtest.Config{
		Scenario: pos[0], Target: *target, Storefront: *storefront, AdminKey: *key,
		Shoppers: *shoppers, Stock: *stock, Ramp: *ramp, Abandon: float64(*abandon) / 100, Patience: *patience,
		Duration: *duration, Rate: *rate, Reference: *reference, Subscriptions: *subscriptions, PlanKind: *planKind, Connections: *conns, Timeout: *timeout,
	}
	if !*asJSON {
		cfg.Progress = c.stderr
	}
	startRef := cfg.Scenario == "catalog" && cfg.Reference == ""
	check := cfg
	if startRef {
		check.Reference = "http://127.0.0.1" // started below, once the flags are right
	}
	if err := check.Validate(); err != nil {
		return usagef("%v", err)
	}
	if startRef {
		url, stop, err := startReference(ctx)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Reference = url
	}
	rep, err := loadtest.Run(ctx, cfg)
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			rep.WriteText(c.stdout)
		}
	}
	if err != nil {
		return err
	}
	if why := rep.Failed(); why != "" {
		return fmt.Errorf("%w: %s", errInvariant, why)
	}
	return nil
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
