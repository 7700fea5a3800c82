package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/boxalloc"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/subscription"
)

// allocateCmd allocates a box plan's period: every paid subscriber without
// a box gets one, and (unless --dry-run or --review) the boxes become the
// period's paid orders.
func allocateCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("allocate", "--period YYYY-MM [--plan PLAN] [--market M,…] [--dry-run | --review | --resume] [--data-dir DIR | --database-url URL]",
		"Allocates the boxes of a period (the month they ship) for every active box plan with a pool for it\n"+
			"(or --plan), in each of the plan's markets: every subscriber whose period is paid and who has no\n"+
			"box gets the best match to their profile from the\n"+
			"period's pool and the stock at the market's warehouses, with a certified bound on how far from the\n"+
			"optimum the allocation is. Without --dry-run the boxes are written holding their stock and approved:\n"+
			"each becomes the period's paid order. --review stops before approval (approve with the API).\n"+
			"Running a period again allocates only subscribers still without a box (renewals paid since).\n"+
			"A run left pending (by --review or a crash) must be approved first: --resume approves it, then\n"+
			"allocates the rest.")
	d := platform.BindDatabase(f)
	plan := f.String("plan", "", "", "the box plan's ID (default: every active box plan)")
	period := f.String("period", "", "", "the month the boxes ship, YYYY-MM (required)")
	marketList := f.String("market", "", "", "markets to allocate, comma-separated (default: every market of the plan)")
	dryRun := f.Bool("dry-run", "", false, "compute and report only; write nothing")
	review := f.Bool("review", "", false, "write the boxes (holding stock) but leave the run proposed for staff to approve")
	resume := f.Bool("resume", "", false, "approve a pending run of the period first (after a crash or a review)")
	categoryLimit := f.Int("category-limit", "", 0, "items per category in a box (0 means 1)")
	valueFloor := f.Int("value-floor", "", 0, "minimum retail value of a box, minor units of the market's currency")
	history := f.Int("history", "", 0, fmt.Sprintf("no product received in this many previous periods (0 means %d)", box.DefaultHistory))
	seed := f.Int("seed", "", 1, "the allocation's seed: the same input and seed give the same boxes")
	hold := f.Duration("hold", "", box.DefaultHold, "how long boxes hold their stock before approval")
	weightsFile := f.String("weights", "", "", "a JSON file of scoring weights (default: the built-in weights)")
	batch := f.Int("batch", "", 200, "boxes per transaction (1 to 5000)")
	asJSON := f.Bool("json", "", false, "print the runs as JSON")
	if err := parse(f, args); err != nil {
		return err
	}
	if *period == "" {
		return usagef("--period is required")
	}
	if _, _, err := box.ParsePeriod(*period); err != nil {
		return usagef("--period %q: want a month as YYYY-MM, e.g. 2026-12", *period)
	}
	if *dryRun && (*review || *resume) {
		return usagef("--dry-run writes nothing: it cannot be combined with --review or --resume")
	}
	if *batch < 1 || *batch > 5000 {
		return usagef("--batch must be from 1 to 5000")
	}
	opt := box.Options{CategoryLimit: *categoryLimit, ValueFloor: int64(*valueFloor), History: *history, Seed: int64(*seed), Hold: *hold}
	if *weightsFile != "" {
		b, err := os.ReadFile(*weightsFile)
		if err != nil {
			return usagef("--weights: %v", err)
		}
		var w boxalloc.Weights
		if err := json.Unmarshal(b, &w); err != nil {
			return usagef("--weights %s: %v", *weightsFile, err)
		}
		opt.Weights = &w
	}
	a, err := openApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.Close()
	a.boxes.Batch = *batch
	plans, err := boxPlans(ctx, a, *plan)
	if err != nil {
		return err
	}
	var runs []box.Run
	for _, p := range plans {
		markets := strings.Split(*marketList, ",")
		if *marketList == "" {
			markets = markets[:0]
			for code := range p.Prices {
				markets = append(markets, code)
			}
			slices.Sort(markets)
		}
		for _, m := range markets {
			opt.Market = strings.TrimSpace(m)
			if _, sold := p.Prices[opt.Market]; !sold && *plan == "" {
				continue // --market names markets; this plan is not sold in this one
			}
			run, err := allocateMarket(ctx, c, a.boxes, p.ID, *period, opt, *dryRun, *review, *resume)
			if *plan == "" && shopd.ErrorType(err) == "box-pool-not-found" {
				fmt.Fprintf(c.stderr, "plan %s: no pool for %s, skipped\n", p.ID, *period)
				break
			}
			if err != nil {
				return fmt.Errorf("plan %s, market %s: %w", p.ID, opt.Market, err)
			}
			runs = append(runs, run)
			if !*asJSON {
				printRun(c, opt.Market, run, *dryRun)
			}
		}
	}
	if *asJSON {
		out := make([]any, len(runs))
		for i, r := range runs {
			out[i] = httpapi.BoxRunJSON(r)
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	return nil
}

// boxPlans returns the plan with the ID, or every active box plan if id is "".
func boxPlans(ctx context.Context, a *app, id string) ([]subscription.Plan, error) {
	if id != "" {
		p, err := a.subscriptions.Plan(ctx, id)
		return []subscription.Plan{p}, err
	}
	ps, err := a.subscriptions.Plans(ctx, subscription.PlanFilter{Status: subscription.PlanActive})
	return slices.DeleteFunc(ps, func(p subscription.Plan) bool { return p.Kind != subscription.KindBox }), err
}

// allocateMarket allocates one market's boxes: it approves a pending run
// first if asked to (or stops), allocates, and approves unless reviewing.
func allocateMarket(ctx context.Context, c *cli, svc *box.Service, plan, period string, opt box.Options, dryRun, review, resume bool) (box.Run, error) {
	if !dryRun {
		pending, err := svc.Pending(ctx, plan, period, opt.Market)
		switch {
		case err == nil && !resume:
			return box.Run{}, fmt.Errorf("run %s is %s (last written %s): approve or discard it with the API, "+
				"or, if no other `shopd allocate` is running, rerun with --resume to approve it and allocate the rest",
				pending.ID, pending.Status, pending.UpdatedAt.Format(time.RFC3339))
		case err == nil:
			if _, err := svc.Approve(ctx, pending.ID); err != nil {
				return box.Run{}, err
			}
			fmt.Fprintf(c.stderr, "%s: approved pending run %s\n", opt.Market, pending.ID)
		case shopd.ErrorCode(err) != shopd.ENOTFOUND:
			return box.Run{}, err
		}
	}
	start := time.Now()
	progress := func(p boxalloc.Progress) {
		fmt.Fprintf(c.stderr, "\r%s: %-10s pass %4d  objective %s  bound %s  gap %6.3f%%  filled %d  %6.1fs ",
			opt.Market, p.Phase, p.Iteration, p.Objective, p.Bound, 100*p.Gap, p.Filled, time.Since(start).Seconds())
	}
	run, err := svc.Allocate(ctx, plan, period, opt, dryRun, progress)
	fmt.Fprintln(c.stderr)
	if err != nil || run.ID == "" || review {
		return run, err
	}
	return svc.Approve(ctx, run.ID)
}

// printRun prints a run's report in a few lines.
func printRun(c *cli, market string, r box.Run, dryRun bool) {
	rep := r.Report
	status := string(r.Status)
	switch {
	case dryRun:
		status = "dry run, nothing written"
	case r.ID == "":
		status = "nothing to allocate: every paid subscriber has a box"
	default:
		status = "run " + r.ID + " " + status
	}
	fmt.Fprintf(c.stdout, "%s %s %s: %s\n", r.PlanID, market, r.Period, status)
	if rep.Subscribers == 0 {
		return
	}
	greedyGap := 0.0
	if rep.Bound > 0 {
		greedyGap = float64(rep.Bound-rep.Greedy) / float64(rep.Bound)
	}
	fmt.Fprintf(c.stdout, "  %d subscribers, %d boxes, %d unfilled, in %.2fs\n", rep.Subscribers, rep.Boxes, len(rep.Unfilled), rep.Elapsed.Seconds())
	fmt.Fprintf(c.stdout, "  objective %s, bound %s, gap %.3f%% (greedy %s, gap %.3f%%)\n",
		rep.Objective, rep.Bound, 100*rep.Gap, rep.Greedy, 100*greedyGap)
	for i, u := range rep.Unfilled {
		if i == 10 {
			fmt.Fprintf(c.stdout, "  … %d more unfilled\n", len(rep.Unfilled)-10)
			break
		}
		fmt.Fprintf(c.stdout, "  unfilled %s: %s\n", u.Subscriber, u.Reason)
	}
}
