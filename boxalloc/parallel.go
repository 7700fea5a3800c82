package boxalloc

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkSize is the number of subscribers a goroutine takes at a time. Work
// is split by index, and goroutines only add integers into their own
// accumulators, so results never depend on the scheduling.
const chunkSize = 2048

// forChunks calls fn(worker, lo, hi) for consecutive ranges covering [0, n)
// on workers goroutines. It stops early and returns ctx.Err() when ctx ends.
func forChunks(ctx context.Context, n, workers int, fn func(worker, lo, hi int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lo := int(next.Add(1)-1) * chunkSize
				if lo >= n {
					return
				}
				fn(w, lo, min(lo+chunkSize, n))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func workerCount(requested int) int {
	if requested > 0 {
		return requested
	}
	return runtime.GOMAXPROCS(0)
}
