package parallel_test

import (
	"sync/atomic"
	"testing"

	"github.com/secretsync/secretsync/internal/parallel"
)

func TestRunBoundsConcurrencyAndRunsEveryJob(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		var inFlight, peak, done atomic.Int32
		jobs := make([]func(), 50)
		for i := range jobs {
			jobs[i] = func() {
				cur := inFlight.Add(1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				for range 1000 {
					_ = inFlight.Load() // stay in flight a moment
				}
				inFlight.Add(-1)
				done.Add(1)
			}
		}
		parallel.Run(n, jobs)
		if done.Load() != 50 || peak.Load() > int32(max(n, 1)) {
			t.Fatalf("n=%d: ran %d of 50, peak %d", n, done.Load(), peak.Load())
		}
	}
}
