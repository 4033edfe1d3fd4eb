package reconciler

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

// expected is what a managed Secret should hold, for the drift watch.
type expected struct {
	hash  string
	shape *shape
	// prior, when set, is the content the Secret held before this pass's
	// first write to it (see fingerprint). The one write that precedes our
	// apply (ownByApply) leaves that content as it was, and is not drift.
	prior string
	// pass is the pass that remembered it; 0 until remember confirms it
	// (an entry written before a write that then failed).
	pass uint64
}

// expectations maps each managed Secret to what it should hold, while a
// drift watch runs: `run --once` and a standby keep none (at 50,000
// Secrets they weigh some 7 MB). A plain map of values under a lock: a
// sync.Map boxes every key and value, twice the memory.
type expectations struct {
	mu sync.RWMutex
	m  map[targetKey]expected
	// watched: a drift watch reads them. missed: an entry was not kept
	// because none did, so a watch that starts cannot vouch for the
	// Secrets until a pass has read them (watch).
	watched, missed bool
}

// watch marks the expectations wanted, or no longer, and says whether
// entries were missed while they were not.
func (e *expectations) watch(on bool) (missed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.watched, missed, e.missed = on, e.missed, false
	return missed
}

func (e *expectations) store(t targetKey, x expected) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.watched {
		e.missed = true
		e.m = nil // entries kept before a watch ended
		return
	}
	if e.m == nil {
		e.m = map[targetKey]expected{}
	}
	e.m[t] = x
}

func (e *expectations) load(t targetKey) (expected, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	x, ok := e.m[t]
	return x, ok
}

// keepPass drops every entry the pass did not confirm.
func (e *expectations) keepPass(pass uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for t, x := range e.m {
		if x.pass != pass {
			delete(e.m, t)
		}
	}
}

// fingerprint is what a live Secret holds, as far as shape sees it.
func (sh *shape) fingerprint(s *corev1.Secret) string {
	return sh.hash(s) + "/" + s.Annotations[sh.hashKey]
}

// WatchDrift watches this instance's Secrets — only those with its labels,
// never every Secret in the cluster — and calls notify when one is deleted
// or edited away from what secretsync applied. The next pass then runs even
// with nothing due, and repairs just the drifted Secrets. It returns when
// ctx ends, reconnecting after errors.
func (r *Reconciler) WatchDrift(ctx context.Context, notify func()) {
	namespaces := r.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	r.watchesWanted.Add(int32(len(namespaces)))
	defer r.watchesWanted.Add(-int32(len(namespaces)))
	if r.expected.watch(true) {
		// A pass ran without recording what its Secrets hold: until one
		// has, a change to them would go unseen. Ask for that pass now.
		r.drift.Store(true)
		notify()
	}
	defer r.expected.watch(false)
	for _, ns := range namespaces {
		go r.watchNamespace(ctx, ns, notify)
	}
	<-ctx.Done()
}

func (r *Reconciler) watchNamespace(ctx context.Context, ns string, notify func()) {
	sel := labels.SelectorFromSet(r.labels()).String()
	secrets := r.kube.CoreV1().Secrets(ns)
	for ctx.Err() == nil {
		// Start from now: a one-item LIST gives the resource version.
		list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
		if err != nil {
			r.log.Warn().Err(err).Str("namespace", ns).Msg("drift watch: list failed; retrying")
			sleep(ctx, 5*time.Second)
			continue
		}
		w, err := secrets.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			r.log.Warn().Err(err).Str("namespace", ns).Msg("drift watch: watch failed; retrying")
			sleep(ctx, 5*time.Second)
			continue
		}
		r.watchesUp.Add(1)
		r.watchGen.Add(1)
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*corev1.Secret)
			if !ok {
				continue
			}
			if r.drifted(ev.Type, s) {
				r.watchGen.Add(1) // the next pass reads the Secrets again
				r.drift.Store(true)
				r.log.Info().Str("namespace", s.Namespace).Str("secret", s.Name).Str("event", string(ev.Type)).Msg("drift: a managed secret changed outside secretsync")
				notify()
			}
		}
		w.Stop()
		r.watchesUp.Add(-1)
		r.watchGen.Add(1) // a gap: the next pass reads the Secrets again
	}
}

func (r *Reconciler) drifted(t watch.EventType, s *corev1.Secret) bool {
	exp, ok := r.expected.load(secretKey(s.Namespace, s.Name))
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
		return !exp.shape.matches(s, exp.hash)
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
