package drift

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/intern"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
)

// Scope is whose targets Live reads, and where.
type Scope struct {
	Instance   string   // plan.Owns checks each target read against it
	Namespaces []string // where the instance may write; empty: all
	Selector   string   // the instance's labels, as a label selector
}

// Lister reads one page of the targets of scope (a namespace and a kind:
// plan.Target without a name), each as a *corev1.Secret.
type Lister func(ctx context.Context, scope plan.Target, opts metav1.ListOptions) (items []*corev1.Secret, cont string, err error)

// Live reads this instance's targets one scope (a namespace and a kind) at
// a time, with one label-selected LIST when the pass first needs that
// scope, and lets a scope go once the pass is past its namespace (Passed):
// a pass holds the live targets of about one namespace, not of all. A
// failed LIST is the error of its scope's targets only.
type Live struct {
	sc   Scope
	list Lister
	// keep holds every scope read until the pass ends (Diff compares
	// after the last part).
	keep bool
	// managed keeps, for each target, the shape secretsync's field manager
	// holds in it (ManagedShape), for states restored without one.
	managed bool

	mu     sync.Mutex
	scopes map[plan.Target]*liveScope
}

type liveScope struct {
	items  map[plan.Target]*corev1.Secret
	shapes map[plan.Target]*Shape // when managed
	err    error
}

// NewLive returns an empty cache for one pass; keep holds every scope
// read until the pass ends.
func NewLive(sc Scope, list Lister, keep bool) *Live {
	return &Live{sc: sc, list: list, keep: keep, scopes: map[plan.Target]*liveScope{}}
}

// ReadManaged makes the scopes listed from now on keep each target's
// ManagedShape (Shape), for a pass that restored its states.
func (l *Live) ReadManaged() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.managed = true
}

func scopeOf(t plan.Target) plan.Target { return plan.Target{Namespace: t.Namespace, Kind: t.Kind} }

// Get returns this instance's live target t, nil when there is none.
func (l *Live) Get(ctx context.Context, t plan.Target) (*corev1.Secret, error) {
	if !desired.NamespaceAllowed(l.sc.Namespaces, t.Namespace) {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := l.scopes[scopeOf(t)]
	if sc == nil {
		sc = l.read(ctx, scopeOf(t))
		l.scopes[scopeOf(t)] = sc
	}
	return sc.items[t], sc.err
}

// Shape is the shape secretsync's field manager holds in the live target
// t, read when its scope was listed; nil unless ReadManaged came first.
func (l *Live) Shape(t plan.Target) *Shape {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sc := l.scopes[scopeOf(t)]; sc != nil {
		return sc.shapes[t]
	}
	return nil
}

// Passed lets go of the scopes of namespaces before ns: the pass works
// through targets in namespace order and will not ask for them again.
func (l *Live) Passed(ns string) {
	if l.keep {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.scopes {
		if k.Namespace < ns {
			delete(l.scopes, k)
		}
	}
}

func (l *Live) read(ctx context.Context, scope plan.Target) *liveScope {
	sc := &liveScope{items: map[plan.Target]*corev1.Secret{}}
	// Pages of 500 keep the peak memory of a large namespace down.
	opts := metav1.ListOptions{LabelSelector: l.sc.Selector, Limit: 500}
	for {
		items, cont, err := l.list(ctx, scope, opts)
		if err != nil {
			noun := "secret"
			if scope.Kind != "" {
				noun = strings.ToLower(scope.Kind)
			}
			return &liveScope{err: fmt.Errorf("list managed %ss in %s: %w", noun, scope.Namespace, err)}
		}
		for _, s := range items {
			if !plan.Owns(l.sc.Instance, scope.Kind, s.Labels, s.Annotations) {
				continue
			}
			// Keep what the comparison reads and let the page go: the
			// rest (managed fields first) is most of it.
			slim := &corev1.Secret{Type: s.Type, Data: s.Data, Immutable: s.Immutable}
			slim.Name, slim.Namespace, slim.ResourceVersion = s.Name, s.Namespace, s.ResourceVersion
			slim.Labels, slim.Annotations = shareKeys(s.Labels), shareKeys(s.Annotations)
			if CreatedByUpdate(s) {
				slim.ManagedFields = s.ManagedFields // to be converted before the next apply
			}
			k := plan.Target{Namespace: s.Namespace, Name: s.Name, Kind: scope.Kind}
			sc.items[k] = slim
			if l.managed {
				if sc.shapes == nil {
					sc.shapes = map[plan.Target]*Shape{}
				}
				sc.shapes[k] = ManagedShape(s, plan.FieldManager, AnnotationDataHash, true)
			}
		}
		if opts.Continue = cont; opts.Continue == "" {
			return sc
		}
	}
}

// CreatedByUpdate reports whether secretsync's fields in s are held as an
// Update (what a create records) and not yet as an Apply.
func CreatedByUpdate(s *corev1.Secret) bool {
	apply, update := false, false
	for _, m := range s.ManagedFields {
		if m.Manager == plan.FieldManager {
			apply = apply || m.Operation == metav1.ManagedFieldsOperationApply
			update = update || m.Operation == metav1.ManagedFieldsOperationUpdate
		}
	}
	return update && !apply
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
		case plan.LabelManagedBy, plan.LabelInstance, plan.AnnotationSource, inventory.AnnotationRevision:
			intern.Strings(&v)
		}
		out[k] = v
	}
	return out
}
