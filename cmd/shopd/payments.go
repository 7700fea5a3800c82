package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/stripe"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/subscription"
)

// paymentFlags configure the payment gateways; serve and the payments
// commands bind the same ones.
type paymentFlags struct {
	gateway       *string
	stripeKey     *string
	stripeWebhook *string
	stripeURL     *string
	callTimeout   *time.Duration
	// Billing's dunning rules travel with the payment flags: every process
	// that settles payments settles invoice payments too.
	dunningSchedule *string
	dunningPolicy   *string
	boxCutoffDay    *int
}

func bindPaymentFlags(f *platform.Flags) paymentFlags {
	return paymentFlags{
		gateway:       f.String("payment-gateway", "SHOPD_PAYMENT_GATEWAY", "test", "default payment gateway for new payments: test or stripe"),
		stripeKey:     f.String("stripe-secret-key", "SHOPD_STRIPE_SECRET_KEY", "", "Stripe secret key (sk_…); enables the Stripe gateway"),
		stripeWebhook: f.String("stripe-webhook-secret", "SHOPD_STRIPE_WEBHOOK_SECRET", "", "Stripe webhook signing secret (whsec_…) for POST /v1/webhooks/stripe"),
		stripeURL:     f.String("stripe-api-url", "SHOPD_STRIPE_API_URL", "", "Stripe API base URL (empty for Stripe's; e.g. a stripe-mock for tests)"),
		callTimeout:   f.Duration("payment-call-timeout", "SHOPD_PAYMENT_CALL_TIMEOUT", payment.DefaultCallTimeout, "bound on one payment gateway call; a call cut off leaves its payment in doubt until reconciled"),
		dunningSchedule: f.String("dunning-schedule", "SHOPD_DUNNING_SCHEDULE", subscription.DefaultDunningSchedule().String(),
			"retries of a failed renewal, as delays after its first failure"),
		dunningPolicy: f.String("dunning-policy", "SHOPD_DUNNING_POLICY", string(subscription.DunningPause), "after the last failed retry: pause or cancel the subscription"),
		boxCutoffDay: f.Int("box-cutoff-day", "SHOPD_BOX_CUTOFF_DAY", subscription.BoxCutoffDay,
			"day of the month before a box period (1-28) after which skips apply to the period after"),
	}
}

// billingRules reads the dunning flags.
func (pf paymentFlags) billingRules() (subscription.BillingRules, error) {
	schedule, err := subscription.ParseDunningSchedule(*pf.dunningSchedule)
	if err != nil {
		return subscription.BillingRules{}, fmt.Errorf("--dunning-schedule: %w", err)
	}
	policy, err := subscription.ParseDunningPolicy(*pf.dunningPolicy)
	if err != nil {
		return subscription.BillingRules{}, fmt.Errorf("--dunning-policy: %w", err)
	}
	return subscription.BillingRules{Schedule: schedule, Policy: policy}, nil
}

// validate checks the flags before anything is opened.
func (pf paymentFlags) validate() error {
	var problems []error
	switch *pf.gateway {
	case testgateway.Name:
	case stripe.Name:
		if *pf.stripeKey == "" {
			problems = append(problems, errors.New("--payment-gateway stripe needs --stripe-secret-key"))
		}
	default:
		problems = append(problems, fmt.Errorf("--payment-gateway must be test or stripe, not %q", *pf.gateway))
	}
	if *pf.boxCutoffDay < 1 || *pf.boxCutoffDay > 28 {
		problems = append(problems, errors.New("--box-cutoff-day must be from 1 to 28"))
	}
	if *pf.callTimeout <= 0 || *pf.callTimeout > 5*time.Minute {
		problems = append(problems, errors.New("--payment-call-timeout must be from 1ns to 5m"))
	}
	if _, err := pf.billingRules(); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// paymentService wires the payment service: the default gateway first, the
// test gateway always (its ledger is in shopd's database, and payments made
// with it must stay reconcilable), Stripe when a key is given.
func (pf paymentFlags) paymentService(a *app) (*payment.Service, error) {
	test := testgateway.New(a.db.TestGatewayLedger(), testgateway.Options{Clock: a.clock})
	var sg *stripe.Gateway
	if *pf.stripeKey != "" {
		var err error
		if sg, err = stripe.New(stripe.Config{SecretKey: *pf.stripeKey, WebhookSecret: *pf.stripeWebhook, URL: *pf.stripeURL, Clock: a.clock}); err != nil {
			return nil, err
		}
	}
	opts := []payment.Option{payment.WithCallTimeout(*pf.callTimeout)}
	if *pf.gateway == stripe.Name {
		opts = append(opts, payment.WithGateway(sg), payment.WithGateway(test))
	} else {
		opts = append(opts, payment.WithGateway(test))
		if sg != nil {
			opts = append(opts, payment.WithGateway(sg))
		}
	}
	return payment.NewService(a.db.Payments(), a.clock, opts...), nil
}

// clockAt returns the system clock for "", else a test clock at the
// RFC 3339 time (`--now`).
func clockAt(now string) (shopd.Clock, error) {
	if now == "" {
		return shopd.SystemClock{}, nil
	}
	t, err := time.Parse(time.RFC3339, now)
	if err != nil {
		return nil, usagef("--now %q: want an RFC 3339 time such as 2027-03-01T00:00:00Z", now)
	}
	return shopd.NewTestClock(t), nil
}

func paymentsCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "reconcile" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(c.stderr, "Usage: shopd payments reconcile [--older-than 2m] [--now TIME]\n")
			return nil
		}
		return usagef("use `shopd payments reconcile [--older-than 2m]`")
	}
	f := c.flags("payments reconcile", "[--older-than 2m] [--now TIME] [--data-dir DIR | --database-url URL]",
		"Settles every payment and refund left in doubt (a timeout, a crash) by asking its gateway what\n"+
			"happened under the payment's idempotency key. It never charges: a charge found settles the\n"+
			"payment as succeeded, no charge as failed. The worker does the same every minute.")
	d := platform.BindDatabase(f)
	pf := bindPaymentFlags(f)
	olderThan := f.Duration("older-than", "", 2*time.Minute, "only payments untouched for this long (gives a checkout in progress time to finish)")
	nowFlag := f.String("now", "", "", "reconcile as of this time (RFC 3339): the test clock of `shopd bill --now`, whose leases run on it")
	if err := parse(f, args[1:]); err != nil {
		return err
	}
	clock, err := clockAt(*nowFlag)
	if err != nil {
		return err
	}
	if err := pf.validate(); err != nil {
		return usagef("%v", err)
	}
	if *olderThan < 0 {
		return usagef("--older-than must not be negative")
	}
	a, err := openAppAt(ctx, d, clock)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.withPayments(pf); err != nil {
		return err
	}
	svc := a.payments
	total := 0
	for {
		n, err := svc.Reconcile(ctx, *olderThan)
		total += n
		if err != nil {
			fmt.Fprintf(c.stdout, "settled %d payments and refunds; some are still in doubt\n", total)
			return err
		}
		if n == 0 {
			break
		}
	}
	fmt.Fprintf(c.stdout, "settled %d payments and refunds\n", total)
	return nil
}
