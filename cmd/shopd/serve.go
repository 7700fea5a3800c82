package main

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopd/shopd"
	"github.com/shopd/shopd/admission"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/worker"
)

func serveCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("serve", "[flags]", "Runs the shopd API. With no flags it keeps everything in SQLite under ./shopd-data\nand listens on 127.0.0.1:8080; --database-url postgres://… runs on PostgreSQL.")
	d := platform.BindDatabase(f)
	addr := f.String("addr", "SHOPD_ADDR", "127.0.0.1:8080", "listen address HOST:PORT (port 0 picks a free port)")
	role := f.String("role", "SHOPD_ROLE", "all", "api (HTTP only), storefront (the storefront's catalog reads only: markets, products, plans), worker (background jobs; serves only the probes) or all")
	demo := f.Bool("demo", "SHOPD_DEMO", false, "seed a demo shop on first start and print an owner API key")
	logFormat := f.String("log-format", "SHOPD_LOG_FORMAT", "json", "log format: json or text")
	logLevel := f.String("log-level", "SHOPD_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	defaultMarket := f.String("default-market", "SHOPD_DEFAULT_MARKET", "us", "market of storefront requests that name none")
	maxBody := f.Int("max-body-bytes", "SHOPD_MAX_BODY_BYTES", httpapi.DefaultMaxBodyBytes, "largest request body accepted")
	drainDelay := f.Duration("drain-delay", "SHOPD_DRAIN_DELAY", 0, "on SIGTERM, fail /readyz this long before closing the listener, so load balancers stop sending traffic")
	pf := bindPaymentFlags(f)
	debugAddr := f.String("debug-addr", "SHOPD_DEBUG_ADDR", "", "serve Go's profiler at /debug/pprof/ on this loopback HOST:PORT (empty: off)")
	drainTimeout := f.Duration("drain-timeout", "SHOPD_DRAIN_TIMEOUT", 20*time.Second, "on SIGTERM, wait at most this long for requests in flight")
	af := bindAdmissionFlags(f)
	if err := parse(f, args); err != nil {
		return err
	}
	var problems []error
	if err := platform.ValidateAddr(*addr); err != nil {
		problems = append(problems, err)
	}
	apiRole, known := map[string]httpapi.Role{"all": httpapi.RoleAll, "api": httpapi.RoleAll, "storefront": httpapi.RoleStorefront, "worker": httpapi.RoleWorker}[*role]
	if !known {
		problems = append(problems, fmt.Errorf("--role %q: use api, storefront, worker or all", *role))
	}
	if err := validateDebugAddr(*debugAddr); err != nil {
		problems = append(problems, err)
	}
	if *maxBody < 1024 || *maxBody > 64<<20 {
		problems = append(problems, errors.New("--max-body-bytes must be from 1024 to 67108864"))
	}
	if err := pf.validate(); err != nil {
		problems = append(problems, err)
	}
	admissionCfg, err := af.config()
	if err != nil {
		problems = append(problems, err)
	}
	if *drainDelay < 0 || *drainTimeout <= 0 {
		problems = append(problems, errors.New("--drain-delay must be ≥ 0 and --drain-timeout > 0"))
	}
	log, err := platform.NewLogger(c.stderr, *logFormat, *logLevel)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return usagef("%v", errors.Join(problems...))
	}

	stopTracing, err := platform.StartTracing(ctx, c.env, "shopd", shopd.BuildVersion())
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := stopTracing(ctx); err != nil {
			log.Error("tracing: flush failed", slog.String("error", err.Error()))
		}
	}()

	a, err := openApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.withPayments(pf); err != nil {
		return err
	}
	if _, err := a.markets.Market(ctx, *defaultMarket); err != nil {
		return usagef("--default-market %q: %v", *defaultMarket, err)
	}
	if *demo {
		key, err := seedDemo(ctx, a)
		if err != nil {
			return fmt.Errorf("demo seed: %w", err)
		}
		if key != "" {
			fmt.Fprintf(c.stdout, "demo shop seeded; owner API key (shown once): %s\n", key)
		}
	}

	metrics := platform.NewMetrics(shopd.BuildVersion())
	for name, pool := range a.db.Pools() {
		if err := metrics.RegisterDB(name, pool); err != nil {
			return err
		}
	}
	// Outbox, reservation and payment gauges are read from the store at
	// scrape time; the cache bounds the load of many pods and scrapers.
	if err := metrics.Register(sqlstore.NewStatsCollector(a.db, 5*time.Second, 2*time.Second)); err != nil {
		return err
	}
	a.checkout.SetLogger(log)
	if err := metrics.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopd_checkout_failed_batches_total",
		Help: "Batches of checkouts (placements, payment outcomes) whose transaction failed, each then done alone; should stay 0."},
		func() float64 { return float64(a.checkout.FailedBatches()) })); err != nil {
		return err
	}
	billingMetrics, err := platform.NewBillingMetrics(metrics)
	if err != nil {
		return err
	}
	api, err := httpapi.NewServer(httpapi.Deps{
		Metrics:       metrics,
		Logger:        log,
		Clock:         a.clock,
		Idempotency:   a.idempotency,
		Markets:       a.markets,
		Catalog:       a.catalog,
		Customers:     a.customers,
		Staff:         a.staff,
		Events:        a.events,
		Orders:        a.orders,
		Inventory:     a.inventory,
		Carts:         a.carts,
		Payments:      a.payments,
		Checkout:      a.checkout,
		OrderOps:      a.orderOps,
		Subscriptions: a.subscriptions,
		Biller:        a.biller,
		Boxes:         a.boxes,
		Ready:         func(ctx context.Context) error { return errors.Join(a.db.Ping(ctx), a.db.MigrationsCurrent(ctx)) },
		DefaultMarket: *defaultMarket,
		MaxBodyBytes:  int64(*maxBody),
		Admission:     admissionCfg,
		Role:          apiRole,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(api, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(c.stdout, "shopd listening on %s (role %s, store: %s %s)\n  storefront: %s/v1/products\n  API docs:   %s/v1/openapi.json\n  health:     %s/readyz\n",
		url, *role, a.db.Dialect(), a.db.Source(), url, url, url)
	if *debugAddr != "" {
		at, err := serveDebug(ctx, *debugAddr, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "  profiler:   http://%s/debug/pprof/\n", at)
	}
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("store", a.db.Dialect().String()), slog.String("role", *role))

	var jobs []worker.Job
	if *role == "all" || *role == "worker" {
		jobs = append(jobs,
			worker.Job{Name: "purge-idempotency-keys", Every: time.Hour, Run: func(ctx context.Context) error {
				return worker.Batches(ctx, worker.Once(func(ctx context.Context) (int64, error) { return a.db.PurgeIdempotencyKeys(ctx, a.clock.Now()) }))
			}},
			worker.Job{Name: "purge-expired-sessions", Every: time.Hour, Run: func(ctx context.Context) error {
				return worker.Batches(ctx, worker.Once(a.customers.PurgeExpiredSessions))
			}},
			worker.Job{Name: "expire-reservations", Every: 10 * time.Second, Run: func(ctx context.Context) error {
				return worker.Batches(ctx, a.inventory.ExpireReservations)
			}},
			worker.Job{Name: "reconcile-payments", Every: time.Minute, Run: func(ctx context.Context) error {
				return worker.Batches(ctx, func(ctx context.Context) (int, error) { return a.payments.Reconcile(ctx, 2*time.Minute) })
			}},
			worker.Job{Name: "purge-expired-carts", Every: time.Hour, Run: func(ctx context.Context) error {
				return worker.Batches(ctx, a.carts.PurgeExpired)
			}},
			worker.Job{Name: "billing", Every: time.Minute, Run: func(ctx context.Context) error {
				start := time.Now()
				res, err := a.biller.Run(ctx)
				billingMetrics.Observe(time.Since(start), err, res.Counts())
				return err
			}},
			worker.Job{Name: "announce-drops", Every: time.Second, Run: a.catalog.Drops(a.db.Drops()).Run},
		)
	}
	workers := worker.Start(ctx, log, jobs...)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		workers.Wait()
		return err
	case <-ctx.Done():
	}

	// Shut down in order: fail readiness, let load balancers notice, finish
	// requests in flight, stop workers, close the store (deferred).
	log.Info("shutting down", slog.Duration("drain_delay", *drainDelay), slog.Duration("drain_timeout", *drainTimeout))
	api.SetDraining(true)
	time.Sleep(*drainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *drainTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	workers.Wait()
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newHTTPServer is the HTTP server of serve, and of reference-server so
// that loadtest catalog compares handlers, not server settings.
func newHTTPServer(handler http.Handler, errorLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
}

// admissionFlags are serve's flags of the checkout waiting room and the
// rate limits (docs/operations.md, "Waiting room and rate limits").
type admissionFlags struct {
	capacity, queueLimit, window *int
	hold, ticketTTL, soldOutTTL  *time.Duration
	checkoutIP, checkoutCustomer *string
	loginIP, loginEmail          *string
	exempt, clientIPHeader       *string
}

func bindAdmissionFlags(f *platform.Flags) admissionFlags {
	return admissionFlags{
		capacity: f.Int("checkout-capacity", "SHOPD_CHECKOUT_CAPACITY", 64,
			"checkouts run at once; beyond it a new checkout gets a queue ticket (202, the waiting room); 0 turns the waiting room off"),
		queueLimit: f.Int("checkout-queue-limit", "SHOPD_CHECKOUT_QUEUE_LIMIT", 10_000, "queue tickets in line at most; beyond it 429 queue-full"),
		window:     f.Int("checkout-queue-window", "SHOPD_CHECKOUT_QUEUE_WINDOW", 0, "tickets at the head of the line that may take a free slot, and wait on their connection for one (0: 4 × --checkout-capacity, at least 64)"),
		hold:       f.Duration("checkout-queue-hold", "SHOPD_CHECKOUT_QUEUE_HOLD", time.Second, "how long a ticket at the head of the line waits on its connection for a slot; 0 never waits"),
		ticketTTL:  f.Duration("checkout-ticket-ttl", "SHOPD_CHECKOUT_TICKET_TTL", 30*time.Second, "a queue ticket not sent again for this long is abandoned"),
		soldOutTTL: f.Duration("sold-out-ttl", "SHOPD_SOLD_OUT_TTL", 2*time.Second, "how long a SKU that failed a checkout out of stock is suspected sold out by the queue"),
		checkoutIP: f.String("rate-limit-checkout-ip", "SHOPD_RATE_LIMIT_CHECKOUT_IP", "120/1m",
			"checkouts per client address: N/PERIOD (a burst of N, refilled N per PERIOD), or off; polls of a queue ticket do not count"),
		checkoutCustomer: f.String("rate-limit-checkout-customer", "SHOPD_RATE_LIMIT_CHECKOUT_CUSTOMER", "20/1m", "checkouts per logged-in customer: N/PERIOD or off"),
		loginIP:          f.String("rate-limit-login-ip", "SHOPD_RATE_LIMIT_LOGIN_IP", "60/1m", "logins per client address: N/PERIOD or off"),
		loginEmail:       f.String("rate-limit-login-email", "SHOPD_RATE_LIMIT_LOGIN_EMAIL", "10/5m", "logins per email address, right or wrong: N/PERIOD or off"),
		exempt: f.String("rate-limit-exempt", "SHOPD_RATE_LIMIT_EXEMPT", "127.0.0.0/8,::1/128",
			"client addresses (CIDRs or IPs, comma-separated) the per-address limits skip; \"\" for none"),
		clientIPHeader: f.String("client-ip-header", "SHOPD_CLIENT_IP_HEADER", "",
			"header in which a trusted proxy puts the client's address (X-Forwarded-For: its last entry); empty uses the peer address"),
	}
}

// config checks the flags and returns the API's admission configuration.
func (af admissionFlags) config() (httpapi.AdmissionConfig, error) {
	c := httpapi.AdmissionConfig{
		CheckoutCapacity: *af.capacity, QueueLimit: *af.queueLimit, QueueWindow: *af.window,
		QueueHold: *af.hold, TicketTTL: *af.ticketTTL, SoldOutTTL: *af.soldOutTTL, ClientIPHeader: *af.clientIPHeader,
	}
	var problems []error
	if c.CheckoutCapacity < 0 || c.QueueLimit < 1 || c.QueueWindow < 0 {
		problems = append(problems, errors.New("--checkout-capacity and --checkout-queue-window must be ≥ 0, --checkout-queue-limit ≥ 1"))
	}
	if c.QueueHold < 0 || c.QueueHold > 10*time.Second || c.TicketTTL < time.Second || c.SoldOutTTL <= 0 {
		problems = append(problems, errors.New("--checkout-queue-hold must be from 0 to 10s, --checkout-ticket-ttl at least 1s, --sold-out-ttl positive"))
	}
	for _, l := range []struct {
		flag string
		in   *string
		out  *admission.Limit
	}{
		{"--rate-limit-checkout-ip", af.checkoutIP, &c.CheckoutPerIP},
		{"--rate-limit-checkout-customer", af.checkoutCustomer, &c.CheckoutPerCustomer},
		{"--rate-limit-login-ip", af.loginIP, &c.LoginPerIP},
		{"--rate-limit-login-email", af.loginEmail, &c.LoginPerEmail},
	} {
		var err error
		if *l.out, err = admission.ParseLimit(*l.in); err != nil {
			problems = append(problems, fmt.Errorf("%s: %v", l.flag, err))
		}
	}
	for _, v := range strings.Split(*af.exempt, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			ip, ierr := netip.ParseAddr(v)
			if ierr != nil {
				problems = append(problems, fmt.Errorf("--rate-limit-exempt: %q is not a CIDR or an IP address", v))
				continue
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		c.ExemptIPs = append(c.ExemptIPs, p.Masked())
	}
	return c, errors.Join(problems...)
}
