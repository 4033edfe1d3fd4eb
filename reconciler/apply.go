package reconciler

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/render"
)

// apply server-side applies every desired Secret whose content differs from
// the live one, and returns the targets now in their desired state. Failed
// targets are added to blocked so that they are kept, not pruned.
func (r *Reconciler) apply(ctx context.Context, want []desiredSecret, live map[targetKey]*corev1.Secret, listErr map[string]error, blocked map[targetKey]bool, res *Result) map[targetKey]*render.ExternalSecret {
	done := make(map[targetKey]*render.ExternalSecret, len(want))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.cfg.Concurrency)
	for _, d := range want {
		if err := listErr[d.target.namespace]; err != nil {
			blocked[d.target] = true
			res.Failed++
			err = fmt.Errorf("apply secret %s: %w", d.target, err)
			res.fail(ApplyFailed, err)
			o := res.outcome(esID(d.es))
			o.err, o.class = err, string(ApplyFailed)
			continue
		}
		if d.reused || d.shape.matches(live[d.target], d.hash) {
			res.Unchanged++
			done[d.target] = d.es
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			existed := live[d.target] != nil
			err := r.applyOne(ctx, d, existed)
			mu.Lock()
			defer mu.Unlock()
			o := res.outcome(esID(d.es))
			if err != nil {
				blocked[d.target] = true
				res.Failed++
				err = fmt.Errorf("apply secret %s for externalsecret %s/%s: %w", d.target, d.es.Namespace, d.es.Name, err)
				res.fail(ApplyFailed, err)
				o.err, o.class = err, string(ApplyFailed)
				return
			}
			o.written, o.created = true, !existed
			res.Applied++
			done[d.target] = d.es
			r.log.Debug().Str("namespace", d.target.namespace).Str("secret", d.target.name).Str("revision", d.secret.Annotations[AnnotationRevision]).Msg("applied")
		}()
	}
	wg.Wait()
	return done
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
	_, err := secrets.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}
