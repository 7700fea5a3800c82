// Package boxalloc decides which k products every subscriber of a box
// business receives in a period, and proves how close to optimal that is.
//
// The problem (an Instance): every subscriber gets exactly k distinct
// products, at most a category limit per category, none received in the
// last periods, none excluded by their profile (brand, category,
// ingredient), all from ONE warehouse of their market, optionally worth a
// retail value floor, and no product is used at a warehouse more often than
// its stock there. The objective is the sum of the item scores (Score):
// int64 micro-points (Points), so objective, bound and prices add up
// exactly and a run is identical for a given seed whatever the number of
// goroutines.
//
// Allocate relaxes the stock constraints with one price per product ×
// warehouse (Lagrangian relaxation):
//
//  1. Candidates: each subscriber keeps its best products (every category
//     represented); the rest can only matter when a pick is worth less than
//     the best product left out, and then that subscriber is priced over
//     every product.
//  2. Prices: in each pass every subscriber takes its best box under
//     score − price (a greedy pick is optimal: a box is a partition-matroid
//     basis) at its best warehouse, and each price moves toward the price at
//     which demand meets stock, by a secant step on the slope of its demand
//     learned from its own past moves. A tiny deterministic jitter on scores
//     breaks the ties of subscribers with identical profiles. Large
//     instances learn prices and slopes on a sample first.
//  3. Bound: every few passes the dual value with the true scores (each
//     subscriber's best box without the value floor, or none) plus the
//     priced stock is an upper bound on any allocation's objective.
//  4. Repair: where best responses over-use a product × warehouse, the
//     holders who lose least by switching give it up; short boxes are
//     refilled from free stock; empty ones get the best box free stock allows.
//  5. Auction: from the dual prices, a sequential auction with true scores
//     wins back what the repair lost: a subscriber whose box is short or
//     can gain by exchanging one product takes free stock or outbids the
//     holder that values its product least, who then looks for another;
//     posted prices never fall, so it ends (see auction).
//  6. Completion: subscribers still without a box get one by augmenting
//     paths (a max-flow over subscriber → category → product@warehouse →
//     stock, moving holders of sold-out products to others), or by
//     displacing one box and refilling both; those left are named with a
//     reason. An improvement pass then lets boxes trade up to free stock.
//
// Greedy is the first-come baseline, Exact the reference for small
// instances, Validate a checker independent of the allocator and Generate
// makes realistic instances.
package boxalloc
