package reconciler

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/internal/intern"
)

// liveTargets reads this instance's targets one scope (a namespace and a
// kind) at a time, with one label-selected LIST when the pass first needs
// that scope, and lets a scope go once the pass is past its namespace:
// a pass holds the live targets of about one namespace, not of all. A
// failed LIST is the error of its scope's targets only.
type liveTargets struct {
	r   *Reconciler
	sel string
	// keep holds every scope read until the pass ends (Diff compares
	// after the last part).
	keep bool
	// managed keeps, for each target, the shape secretsync's field manager
	// holds in it (managedShape), for states restored without one (vouch).
	managed bool

	mu     sync.Mutex
	scopes map[targetKey]*liveScope
}

type liveScope struct {
	items  map[targetKey]*corev1.Secret
	shapes map[targetKey]*shape // when managed
	err    error
}

func (r *Reconciler) liveTargets(keep bool) *liveTargets {
	return &liveTargets{r: r, sel: labels.SelectorFromSet(r.labels()).String(), keep: keep, scopes: map[targetKey]*liveScope{}}
}

// get returns this instance's live target t, nil when there is none.
func (l *liveTargets) get(ctx context.Context, t targetKey) (*corev1.Secret, error) {
	if !l.r.namespaceAllowed(t.namespace) {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := l.scopes[t.scope()]
	if sc == nil {
		sc = l.list(ctx, t.scope())
		l.scopes[t.scope()] = sc
	}
	return sc.items[t], sc.err
}

// shape is the shape secretsync's field manager holds in the live target
// t, read when the scope was listed; nil unless managed.
func (l *liveTargets) shape(t targetKey) *shape {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sc := l.scopes[t.scope()]; sc != nil {
		return sc.shapes[t]
	}
	return nil
}

// passed lets go of the scopes of namespaces before ns: the pass works
// through targets in namespace order and will not ask for them again.
func (l *liveTargets) passed(ns string) {
	if l.keep {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.scopes {
		if k.namespace < ns {
			delete(l.scopes, k)
		}
	}
}

func (l *liveTargets) list(ctx context.Context, scope targetKey) *liveScope {
	sc := &liveScope{items: map[targetKey]*corev1.Secret{}}
	// Pages of 500 keep the peak memory of a large namespace down.
	opts := metav1.ListOptions{LabelSelector: l.sel, Limit: 500}
	for {
		items, cont, err := l.r.targets().List(ctx, scope.plan(), opts)
		if err != nil {
			return &liveScope{err: fmt.Errorf("list managed %ss in %s: %w", scope.noun(), scope.namespace, err)}
		}
		for _, s := range items {
			if !l.r.owns(scope.kind, s.ObjectMeta) {
				continue
			}
			// Keep what the comparison reads and let the page go: the
			// rest (managed fields first) is most of it.
			slim := &corev1.Secret{Type: s.Type, Data: s.Data, Immutable: s.Immutable}
			slim.Name, slim.Namespace, slim.ResourceVersion = s.Name, s.Namespace, s.ResourceVersion
			slim.Labels, slim.Annotations = shareKeys(s.Labels), shareKeys(s.Annotations)
			if createdByUpdate(s) {
				slim.ManagedFields = s.ManagedFields // to be converted before the next apply
			}
			k := targetKey{s.Namespace, s.Name, scope.kind}
			sc.items[k] = slim
			if l.managed {
				if sc.shapes == nil {
					sc.shapes = map[targetKey]*shape{}
				}
				sc.shapes[k] = managedShape(s, FieldManager, AnnotationDataHash, true)
			}
		}
		if opts.Continue = cont; opts.Continue == "" {
			return sc
		}
	}
}

// shareKeys makes a decoded map's keys, and the values that repeat from
// Secret to Secret (ours: the instance, the file, the revision), one copy
// each: a namespace of 2,500 Secrets decodes every one of them anew.
func shareKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		intern.Strings(&k)
		switch k {
		case LabelManagedBy, LabelInstance, AnnotationSource, AnnotationRevision:
			intern.Strings(&v)
		}
		out[k] = v
	}
	return out
}
