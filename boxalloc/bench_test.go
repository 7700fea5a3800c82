package boxalloc

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAllocate times Allocate on generated instances (generation not
// timed) and reports the certified gap and the greedy baseline's gap to
// the same bound. Sizes: BOXALLOC_BENCH="subscribers x products,…"
// (default 20000x200). Run with -benchtime=1x for the large ones.
func BenchmarkAllocate(b *testing.B) {
	for _, size := range benchSizes(os.Getenv("BOXALLOC_BENCH"), "20000x200") {
		b.Run(fmt.Sprintf("subscribers=%d/products=%d", size[0], size[1]), func(b *testing.B) {
			in := Generate(1, Spec{Subscribers: size[0], Products: size[1]})
			var res *Result
			b.ResetTimer()
			for range b.N {
				var err error
				if res, err = Allocate(context.Background(), in, Options{Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			g, err := Greedy(context.Background(), in, Options{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(100*res.Gap, "gap%")
			b.ReportMetric(float64(len(res.Unfilled)), "unfilled")
			b.ReportMetric(100*g.GapTo(res.Bound), "greedy-gap%")
		})
	}
}

// TestScale runs the targets of issue 5 when BOXALLOC_SCALE lists sizes
// ("100000x200,1000000x300"): k = 5, one per category, stock 1.03 × slots.
// It logs time, gap, unfilled boxes, the peak Go heap (sampled) and the
// greedy baseline on the same instance. For peak RSS run the test binary
// under /usr/bin/time -v.
func TestScale(t *testing.T) {
	env := os.Getenv("BOXALLOC_SCALE")
	if env == "" {
		t.Skip("set BOXALLOC_SCALE=100000x200,1000000x300 to run")
	}
	for _, size := range benchSizes(env, "") {
		start := time.Now()
		in := Generate(1, Spec{Subscribers: size[0], Products: size[1]})
		t.Logf("%d×%d: generated in %v", size[0], size[1], time.Since(start).Round(time.Millisecond))
		runtime.GC()
		cpu := cpuTime()
		peak, stop := samplePeakHeap()
		var last time.Time
		res, err := Allocate(context.Background(), in, Options{Seed: 1, Progress: func(p Progress) {
			if time.Since(last) > 5*time.Second || p.Phase != "dual" && p.Phase != "sample" {
				last = time.Now()
				t.Logf("  %-10s it %3d bound %s objective %s gap %.4f%% filled %d %v", p.Phase, p.Iteration, p.Bound, p.Objective, 100*p.Gap, p.Filled, p.Elapsed.Round(time.Millisecond))
			}
		}})
		stop()
		cpu = cpuTime() - cpu
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d×%d: allocate %v (CPU %v, load average %s), %d iterations, objective %s, bound %s, gap %.4f%%, unfilled %d, peak heap %d MiB",
			size[0], size[1], res.Elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond), loadAverage(), res.Iterations,
			res.Objective, res.Bound, 100*res.Gap, len(res.Unfilled), peak.Load()>>20)
		if err := Validate(in, res); err != nil {
			t.Fatal(err)
		}
		g, err := Greedy(context.Background(), in, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d×%d: greedy %v, objective %s, gap to the bound %.4f%%, unfilled %d",
			size[0], size[1], g.Elapsed.Round(time.Millisecond), g.Objective, 100*g.GapTo(res.Bound), len(g.Unfilled))
	}
}

// samplePeakHeap records the largest live heap every 50 ms until stopped.
func samplePeakHeap() (*atomic.Uint64, func()) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage reports the machine's one-minute load: the machine is shared.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func benchSizes(env, def string) [][2]int {
	if env == "" {
		env = def
	}
	var sizes [][2]int
	for _, f := range strings.Split(env, ",") {
		a, b, _ := strings.Cut(strings.TrimSpace(f), "x")
		n, err1 := strconv.Atoi(a)
		p, err2 := strconv.Atoi(b)
		if err1 == nil && err2 == nil {
			sizes = append(sizes, [2]int{n, p})
		}
	}
	return sizes
}
