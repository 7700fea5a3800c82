package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/worker"
)

func serveCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("serve", "[flags]", "Runs the shopd API. With no flags it keeps everything in SQLite under ./shopd-data\nand listens on 127.0.0.1:8080; --database-url postgres://… runs on PostgreSQL.")
	d := platform.BindDatabase(f)
	addr := f.String("addr", "SHOPD_ADDR", "127.0.0.1:8080", "listen address HOST:PORT (port 0 picks a free port)")
	role := f.String("role", "SHOPD_ROLE", "all", "api (HTTP only), worker (background jobs; serves only the probes) or all")
	demo := f.Bool("demo", "SHOPD_DEMO", false, "seed a demo shop on first start and print an owner API key")
	logFormat := f.String("log-format", "SHOPD_LOG_FORMAT", "json", "log format: json or text")
	logLevel := f.String("log-level", "SHOPD_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	defaultMarket := f.String("default-market", "SHOPD_DEFAULT_MARKET", "us", "market of storefront requests that name none")
	maxBody := f.Int("max-body-bytes", "SHOPD_MAX_BODY_BYTES", httpapi.DefaultMaxBodyBytes, "largest request body accepted")
	drainDelay := f.Duration("drain-delay", "SHOPD_DRAIN_DELAY", 0, "on SIGTERM, fail /readyz this long before closing the listener, so load balancers stop sending traffic")
	pf := bindPaymentFlags(f)
	drainTimeout := f.Duration("drain-timeout", "SHOPD_DRAIN_TIMEOUT", 20*time.Second, "on SIGTERM, wait at most this long for requests in flight")
	if err := parse(f, args); err != nil {
		return err
	}
	var problems []error
	if err := platform.ValidateAddr(*addr); err != nil {
		problems = append(problems, err)
	}
	if *role != "api" && *role != "worker" && *role != "all" {
		problems = append(problems, fmt.Errorf("--role %q: use api, worker or all", *role))
	}
	if *maxBody < 1024 || *maxBody > 64<<20 {
		problems = append(problems, errors.New("--max-body-bytes must be from 1024 to 67108864"))
	}
	if err := pf.validate(); err != nil {
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
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var handler http.Handler = api
	if *role == "worker" {
		handler = api.ProbesOnly()
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(c.stdout, "shopd listening on %s (role %s, store: %s %s)\n  storefront: %s/v1/products\n  API docs:   %s/v1/openapi.json\n  health:     %s/readyz\n",
		url, *role, a.db.Dialect(), a.db.Source(), url, url, url)
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("store", a.db.Dialect().String()), slog.String("role", *role))

	var jobs []worker.Job
	if *role != "api" {
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
