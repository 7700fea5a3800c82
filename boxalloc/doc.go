// Package boxalloc decides which k products every subscriber of a box
// business receives in a period, and proves how close to optimal that is.
//
// The problem (an Instance): every subscriber gets exactly k distinct
// products, at most a category limit per category, none received in the
// last periods, none excluded by their profile (brand, category,
// ingredient), all from ONE warehouse of their market, optionally worth a
// retail value floor, and no product is used at a warehouse more often than
// its stock there. The objective is the sum of the item scores (Score).
//
// Allocate solves it with a Lagrangian relaxation of the stock constraints:
// prices per product × warehouse move by sign-based dual steps until demand
// meets stock; every subscriber picks the best box under those prices, and
// the dual value of every pass is an upper bound on the optimum. A repair
// pass then removes over-use (stock is respected exactly) and refills boxes,
// and a completion step (augmenting paths of a max-flow over products,
// subscribers and categories) fills the boxes still short or names the
// subscribers that cannot be filled and why. Greedy is the first-come
// baseline, Exact the reference for small instances, Validate an
// independent checker and Generate makes realistic instances.
//
// Scores are Points: int64 micro-points, so objective, bound and prices are
// exact integers and a run is identical for a given seed whatever the
// number of goroutines.
package boxalloc
