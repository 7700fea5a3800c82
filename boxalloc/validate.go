package boxalloc

import (
	"errors"
	"fmt"
	"slices"
)

// Validate checks a result against every rule of the instance, without
// using the allocator's code: each subscriber has a box or is listed as
// unfilled with a reason (never both), a box holds exactly BoxSize distinct
// known products from one of the subscriber's warehouses, within the
// category limits and the value floor, none received recently or excluded
// by the profile; no product is used at a warehouse beyond its stock; item
// scores equal Score, box scores their sum, the objective the sum of boxes,
// usage rows the real use, and the bound is not below the objective. It
// returns every violation found (up to 50), joined.
func Validate(in *Instance, res *Result) error {
	v := &validation{}
	products := map[string]*Product{}
	for i := range in.Products {
		products[in.Products[i].ID] = &in.Products[i]
	}
	subs := map[string]*Subscriber{}
	for i := range in.Subscribers {
		subs[in.Subscribers[i].ID] = &in.Subscribers[i]
	}
	type pair struct{ product, warehouse string }
	stock := map[pair]int{}
	for _, s := range in.Stock {
		stock[pair{s.Product, s.Warehouse}] += s.Quantity
	}
	used := map[pair]int{}
	seen := map[string]bool{}
	total := Points(0)
	for _, box := range res.Boxes {
		sub := subs[box.Subscriber]
		if sub == nil || seen[box.Subscriber] {
			v.add("box of %q: unknown subscriber or a second box", box.Subscriber)
			continue
		}
		seen[box.Subscriber] = true
		if !slices.Contains(sub.Warehouses, box.Warehouse) {
			v.add("box of %q: warehouse %q does not serve the subscriber", box.Subscriber, box.Warehouse)
		}
		if len(box.Items) != in.BoxSize {
			v.add("box of %q: %d items, want %d", box.Subscriber, len(box.Items), in.BoxSize)
		}
		perCategory := map[string]int{}
		retail, sum := int64(0), Points(0)
		for i, it := range box.Items {
			p := products[it.Product]
			if p == nil {
				v.add("box of %q: unknown product %q", box.Subscriber, it.Product)
				continue
			}
			for _, prev := range box.Items[:i] {
				if prev.Product == it.Product {
					v.add("box of %q: product %q twice", box.Subscriber, it.Product)
				}
			}
			perCategory[p.Category]++
			retail += p.RetailValue
			sum += it.Score
			used[pair{it.Product, box.Warehouse}]++
			if slices.Contains(sub.Recent, it.Product) {
				v.add("box of %q: product %q was received recently", box.Subscriber, it.Product)
			}
			if why := excludedBy(sub.Profile, p); why != "" {
				v.add("box of %q: product %q is excluded (%s)", box.Subscriber, it.Product, why)
			}
			if want, _ := Score(in.Weights, sub.Profile, *p); want != it.Score {
				v.add("box of %q: product %q scored %s, want %s", box.Subscriber, it.Product, it.Score, want)
			}
		}
		for c, n := range perCategory {
			if limit := categoryLimit(in, c); n > limit {
				v.add("box of %q: %d items of category %q, limit %d", box.Subscriber, n, c, limit)
			}
		}
		if retail < in.ValueFloor {
			v.add("box of %q: retail value %d below the floor %d", box.Subscriber, retail, in.ValueFloor)
		}
		if sum != box.Score {
			v.add("box of %q: score %s, items add up to %s", box.Subscriber, box.Score, sum)
		}
		total += box.Score
	}
	for _, u := range res.Unfilled {
		if subs[u.Subscriber] == nil || seen[u.Subscriber] || u.Reason == "" {
			v.add("unfilled %q: unknown, already listed or without a reason", u.Subscriber)
		}
		seen[u.Subscriber] = true
	}
	for _, s := range in.Subscribers {
		if !seen[s.ID] {
			v.add("subscriber %q: neither a box nor listed as unfilled", s.ID)
		}
	}
	for k, n := range used {
		if n > stock[k] {
			v.add("product %q at %q: %d used, stock %d", k.product, k.warehouse, n, stock[k])
		}
	}
	for _, u := range res.Usage {
		k := pair{u.Product, u.Warehouse}
		if u.Used != used[k] || u.Stock != stock[k] {
			v.add("usage of %q at %q: reports %d of %d, is %d of %d", u.Product, u.Warehouse, u.Used, u.Stock, used[k], stock[k])
		}
	}
	if total != res.Objective {
		v.add("objective %s, boxes add up to %s", res.Objective, total)
	}
	if res.Bound != 0 && res.Bound < res.Objective {
		v.add("bound %s is below the objective %s", res.Bound, res.Objective)
	}
	return errors.Join(v.errs...)
}

type validation struct{ errs []error }

const maxViolations = 50

func (v *validation) add(format string, args ...any) {
	if len(v.errs) < maxViolations {
		v.errs = append(v.errs, fmt.Errorf(format, args...))
	}
}

// excludedBy names the profile rule that excludes p, or "".
func excludedBy(prof Profile, p *Product) string {
	for _, b := range prof.ExcludedBrands {
		if b == p.Brand {
			return "brand " + b
		}
	}
	for _, c := range prof.ExcludedCategories {
		if c == p.Category {
			return "category " + c
		}
	}
	for _, ing := range p.Ingredients {
		for _, x := range prof.ExcludedIngredients {
			if x == ing {
				return "ingredient " + ing
			}
		}
	}
	return ""
}

func categoryLimit(in *Instance, category string) int {
	if l, ok := in.CategoryLimits[category]; ok {
		return l
	}
	return max(in.CategoryLimit, 1)
}
