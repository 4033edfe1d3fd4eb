// Package drift knows what secretsync's Secrets should hold and sees when
// they stop holding it: the Shape a Secret is hashed by, the per-pass cache
// of live targets (Live), and the drift watch (Watch) with what it expects
// of each Secret and whether a pass may trust it. It writes nothing and
// calls no cloud API.
package drift

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/plan"
)

// Watch watches this instance's Secrets for drift, and holds what each
// should hold while it runs: `run --once` and a standby keep none (at
// 50,000 Secrets they weigh some 7 MB). Its zero value is ready.
type Watch struct {
	mu sync.RWMutex
	// m is a plain map of values under a lock: a sync.Map boxes every key
	// and value, twice the memory.
	m map[plan.Target]expected
	// watched: a watch runs and reads m. missed: an entry was not kept
	// because none ran, so a watch that starts cannot vouch for the
	// Secrets until a pass has read them (Run).
	watched, missed bool

	drift atomic.Bool // a watch saw a change since the last Start
	// The watch's health: wanted watches, up of them established, gen
	// counting every start and end of one and every drift seen. A pass that
	// finds them all up and gen where the last pass that ran to its end
	// read it (lastGen) trusts that the Secrets still hold what was
	// written, and reads none of them to check reuse.
	wanted, up atomic.Int32
	gen        atomic.Int64
	lastGen    int64
}

// Expected is what a managed Secret should hold.
type Expected struct {
	Shape *Shape
	Hash  string
	// Before, when set, is the Secret as read before this pass's first
	// write to it: the one write that precedes our apply (taking over the
	// fields of a create) leaves its content as it was, and is not drift.
	Before *corev1.Secret
	// Pass is the pass that confirmed it; 0 for an entry written before a
	// write that may then fail (KeepPass drops it).
	Pass uint64
}

type expected struct {
	hash  string
	shape *Shape
	prior string // Before's fingerprint
	pass  uint64
}

// Expect records what t should hold; kept only while a watch runs.
func (w *Watch) Expect(t plan.Target, x Expected) {
	e := expected{hash: x.Hash, shape: x.Shape, pass: x.Pass}
	if x.Before != nil {
		e.prior = x.Shape.fingerprint(x.Before)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.watched {
		w.missed = true
		w.m = nil // entries kept before a watch ended
		return
	}
	if w.m == nil {
		w.m = map[plan.Target]expected{}
	}
	w.m[t] = e
}

func (w *Watch) load(t plan.Target) (expected, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	x, ok := w.m[t]
	return x, ok
}

// KeepPass drops every entry the pass did not confirm: failed, pruned, or
// no longer in Git.
func (w *Watch) KeepPass(pass uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for t, x := range w.m {
		if x.pass != pass {
			delete(w.m, t)
		}
	}
}

// setWatched marks the expectations wanted, or no longer, and says whether
// entries were missed while they were not.
func (w *Watch) setWatched(on bool) (missed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watched, missed, w.missed = on, w.missed, false
	return missed
}

// Check is what the watch says as a pass starts.
type Check struct {
	// Trusted: every watch is up and has seen every change since the last
	// pass that ran to its end; reuse needs no read of the Secrets.
	Trusted bool
	// Drifted: a watch saw a change since the last Start.
	Drifted bool
	gen     int64
}

// Start is the Check of a pass that starts now; it clears Drifted.
func (w *Watch) Start() Check {
	gen := w.gen.Load()
	trusted := gen == w.lastGen && w.wanted.Load() > 0 && w.up.Load() == w.wanted.Load()
	return Check{Trusted: trusted, Drifted: w.drift.Swap(false), gen: gen}
}

// Done records that the pass that started with c ran to its end: it read
// what the watch could not vouch for. Passes do not overlap.
func (w *Watch) Done(c Check) { w.lastGen = c.gen }

// Run watches the Secrets that selector picks in namespaces (none: all) —
// only this instance's, never every Secret in the cluster — and calls
// notify when one it expects something of is deleted or edited away from
// it. The next pass then runs even with nothing due, and repairs just the
// drifted Secrets. It returns when ctx ends, reconnecting after errors.
func (w *Watch) Run(ctx context.Context, kube kubernetes.Interface, namespaces []string, selector string, log zerolog.Logger, notify func()) {
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	w.wanted.Add(int32(len(namespaces)))
	defer w.wanted.Add(-int32(len(namespaces)))
	if w.setWatched(true) {
		// A pass ran without recording what its Secrets hold: until one
		// has, a change to them would go unseen. Ask for that pass now.
		w.drift.Store(true)
		notify()
	}
	defer w.setWatched(false)
	for _, ns := range namespaces {
		go w.watchNamespace(ctx, kube, ns, selector, log, notify)
	}
	<-ctx.Done()
}

func (w *Watch) watchNamespace(ctx context.Context, kube kubernetes.Interface, ns, sel string, log zerolog.Logger, notify func()) {
	secrets := kube.CoreV1().Secrets(ns)
	for ctx.Err() == nil {
		// Start from now: a one-item LIST gives the resource version.
		list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
		if err != nil {
			log.Warn().Err(err).Str("namespace", ns).Msg("drift watch: list failed; retrying")
			sleep(ctx, 5*time.Second)
			continue
		}
		wi, err := secrets.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			log.Warn().Err(err).Str("namespace", ns).Msg("drift watch: watch failed; retrying")
			sleep(ctx, 5*time.Second)
			continue
		}
		w.up.Add(1)
		w.gen.Add(1)
		for ev := range wi.ResultChan() {
			s, ok := ev.Object.(*corev1.Secret)
			if !ok {
				continue
			}
			if w.drifted(ev.Type, s) {
				w.gen.Add(1) // the next pass reads the Secrets again
				w.drift.Store(true)
				log.Info().Str("namespace", s.Namespace).Str("secret", s.Name).Str("event", string(ev.Type)).Msg("drift: a managed secret changed outside secretsync")
				notify()
			}
		}
		wi.Stop()
		w.up.Add(-1)
		w.gen.Add(1) // a gap: the next pass reads the Secrets again
	}
}

func (w *Watch) drifted(t watch.EventType, s *corev1.Secret) bool {
	exp, ok := w.load(plan.Target{Namespace: s.Namespace, Name: s.Name})
	if !ok {
		return false
	}
	switch t {
	case watch.Deleted:
		return true
	case watch.Modified:
		if exp.prior != "" && exp.shape.fingerprint(s) == exp.prior {
			return false
		}
		return !exp.shape.Matches(s, exp.hash)
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
