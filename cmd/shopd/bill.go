package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/subscription"
)

// billCmd runs the renewals and dunning retries that are due, then exits.
// Serve's worker does the same every minute; this command is for cron-like
// operation, catching up, and simulating billing with --now.
func billCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("bill", "[--now TIME] [--data-dir DIR | --database-url URL]",
		"Runs the subscription renewals and dunning retries that are due, then exits. Every period is\n"+
			"invoiced once, whatever runs at the same time or ran before. --now bills as if it were TIME\n"+
			"(RFC 3339), catching up period by period: with the test gateway, a year of billing in seconds.")
	d := platform.BindDatabase(f)
	pf := bindPaymentFlags(f)
	nowFlag := f.String("now", "", "", "bill as of this time (RFC 3339), e.g. 2027-03-01T00:00:00Z")
	concurrency := f.Int("concurrency", "SHOPD_BILLING_CONCURRENCY", subscription.DefaultBillingConcurrency, "charges in flight at once (1 to 1000)")
	rate := f.Int("charge-rate", "SHOPD_BILLING_CHARGE_RATE", 0,
		"charges per second at most; 0 keeps under the gateway's published rate limit (Stripe: 50 in live mode), if any")
	asJSON := f.Bool("json", "", false, "print the result as JSON")
	if err := parse(f, args); err != nil {
		return err
	}
	clock, err := clockAt(*nowFlag)
	if err != nil {
		return err
	}
	if *concurrency < 1 || *concurrency > 1000 {
		return usagef("--concurrency must be from 1 to 1000")
	}
	if *rate < 0 {
		return usagef("--charge-rate must not be negative")
	}
	if err := pf.validate(); err != nil {
		return usagef("%v", err)
	}
	a, err := openAppAt(ctx, d, clock)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.withPayments(pf); err != nil {
		return err
	}
	a.biller.Concurrency, a.biller.Rate = *concurrency, float64(*rate)
	start := time.Now()
	res, err := a.biller.Run(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(struct {
			Now string `json:"now"`
			subscription.RunResult
			Seconds float64 `json:"seconds"`
		}{clock.Now().Format(time.RFC3339), res, time.Since(start).Seconds()})
	}
	fmt.Fprintf(c.stdout, "billed as of %s in %.2fs: %d invoiced, %d charged, %d declined, %d in doubt, %d retried, %d free, %d skipped, %d canceled, %d given up\n",
		clock.Now().Format(time.RFC3339), time.Since(start).Seconds(), res.Invoiced, res.Charged, res.Declined, res.Unknown,
		res.Retried, res.Free, res.Skipped, res.Canceled, res.GaveUp)
	return nil
}
