package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/render"
)

// apply writes every desired Secret whose content differs from the live
// one, each by its creation policy, and returns the targets now in their
// desired state. Failed targets are added to blocked so that they are kept,
// not pruned.
func (r *Reconciler) apply(ctx context.Context, want []desiredSecret, live map[targetKey]*corev1.Secret, listErr map[string]error,
	merged map[targetKey]*corev1.Secret, mergeErr map[targetKey]error, blocked map[targetKey]bool, res *Result) map[targetKey]*render.ExternalSecret {
	done := make(map[targetKey]*render.ExternalSecret, len(want))
	var mu sync.Mutex
	fail := func(d desiredSecret, err error) {
		blocked[d.target] = true
		res.Failed++
		err = fmt.Errorf("apply secret %s for externalsecret %s: %w", d.target, esID(d.es), err)
		res.fail(ApplyFailed, err)
		o := res.outcome(esID(d.es))
		o.err, o.class = err, string(ApplyFailed)
	}
	// written records a write's outcome; the caller holds mu.
	written := func(d desiredSecret, created bool, err error) {
		if err != nil {
			fail(d, err)
			return
		}
		o := res.outcome(esID(d.es))
		o.written, o.created = true, created
		res.Applied++
		done[d.target] = d.es
		r.log.Debug().Str("namespace", d.target.namespace).Str("secret", d.target.name).Msg("applied")
	}
	var jobs []func()
	// Merging writers of one target go in one job, in order, so that each
	// expects the version the previous one wrote.
	mergeJobs := map[targetKey][]desiredSecret{}
	for _, d := range want {
		current, readErr := live[d.target], listErr[d.target.namespace]
		if merges(d.es) {
			current, readErr = merged[d.target], mergeErr[d.target]
		}
		switch {
		case readErr != nil:
			fail(d, readErr)
		case creationPolicy(d.es) == PolicyNone:
			// resolved and reported only
		case d.gone:
			jobs = append(jobs, func() {
				err := r.deleteTarget(ctx, d)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fail(d, err)
					return
				}
				o := res.outcome(esID(d.es))
				o.err, o.class = fmt.Errorf("every remote source is gone; the Secret was deleted (deletionPolicy Delete)"), "SecretDeleted"
			})
		case d.reused || d.shape.matches(current, d.hash):
			res.Unchanged++
			done[d.target] = d.es
		case d.es.Spec.Target.Immutable && current != nil:
			o := res.outcome(esID(d.es))
			o.err, o.class = errors.New("the Secret is immutable and its content changed; delete it to let secretsync create it again"), "Immutable"
			res.Unchanged++
			done[d.target] = d.es
		case merges(d.es):
			mergeJobs[d.target] = append(mergeJobs[d.target], d)
		default:
			jobs = append(jobs, func() {
				err := r.applyOne(ctx, d, current != nil)
				mu.Lock()
				defer mu.Unlock()
				written(d, current == nil, err)
			})
		}
	}
	for t, ds := range mergeJobs {
		jobs = append(jobs, func() {
			current := merged[t]
			for _, d := range ds {
				next, err := r.applyMerge(ctx, d, current)
				mu.Lock()
				written(d, current == nil, err)
				mu.Unlock()
				if err == nil {
					current = next
				}
			}
		})
	}
	runAll(r.cfg.Concurrency, jobs)
	return done
}

// runAll runs jobs with at most n in flight and waits for them all.
func runAll(n int, jobs []func()) {
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

// listManaged lists this instance's Secrets in each namespace the
// ExternalSecrets write to, with one label-selected LIST per namespace.
func (r *Reconciler) listManaged(ctx context.Context, set *render.Set) (map[targetKey]*corev1.Secret, map[string]error) {
	live := map[targetKey]*corev1.Secret{}
	errs := map[string]error{}
	seen := map[string]bool{}
	sel := labels.SelectorFromSet(r.labels()).String()
	for _, es := range set.ExternalSecrets {
		ns := es.Namespace
		if seen[ns] || !r.namespaceAllowed(ns) {
			continue
		}
		seen[ns] = true
		list, err := r.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			errs[ns] = fmt.Errorf("list managed secrets in %s: %w", ns, err)
			continue
		}
		for i := range list.Items {
			s := &list.Items[i]
			live[targetKey{s.Namespace, s.Name}] = s
		}
	}
	return live, errs
}

// applyOne writes one Secret. A Secret that exists but is not this
// instance's is never taken over.
func (r *Reconciler) applyOne(ctx context.Context, d desiredSecret, ours bool) error {
	secrets := r.kube.CoreV1().Secrets(d.target.namespace)
	if !ours {
		existing, err := secrets.Get(ctx, d.target.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		default:
			return fmt.Errorf("a secret of that name exists and is not managed by secretsync instance %q (labels %s=%q, %s=%q); delete it or rename the target",
				r.cfg.Instance, LabelManagedBy, existing.Labels[LabelManagedBy], LabelInstance, existing.Labels[LabelInstance])
		}
	}
	ac := corev1ac.Secret(d.target.name, d.target.namespace).
		WithLabels(d.secret.Labels).
		WithAnnotations(d.secret.Annotations).
		WithType(d.secret.Type).
		WithData(d.secret.Data)
	if d.secret.Immutable != nil {
		ac = ac.WithImmutable(*d.secret.Immutable)
	}
	_, err := secrets.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}
