// Package parallel runs jobs with bounded concurrency: the one helper the
// renderer, the AWS provider and the reconciler share.
package parallel

import "sync"

// Run runs jobs with at most n in flight (at least one) and waits for them
// all. Jobs report results through what they close over, one slot each.
func Run(n int, jobs []func()) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(n, 1))
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			job()
		}()
	}
	wg.Wait()
}
