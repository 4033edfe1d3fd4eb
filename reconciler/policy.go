package reconciler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// listMerged reads the targets of merging ExternalSecrets, which carry no
// labels of ours: one GET each.
func (r *Reconciler) listMerged(ctx context.Context, set *render.Set) (map[plan.Target]*corev1.Secret, map[plan.Target]error) {
	out := map[plan.Target]*corev1.Secret{}
	errs := map[plan.Target]error{}
	for _, es := range set.ExternalSecrets {
		t := target(es)
		if !desired.Merges(es) || !r.namespaceAllowed(t.Namespace) {
			continue
		}
		if _, done := out[t]; done {
			continue
		}
		if err := desired.ForcedWriteProblem(es, r.cfg.OwnNamespaces, ""); err != nil {
			out[t], errs[t] = nil, fmt.Errorf("secret %s: %w", t, err) // not even read
			continue
		}
		s, err := r.scoped(render.AskerFor(es)).SecretObject(ctx, t.Namespace, t.Name)
		switch {
		case apierrors.IsNotFound(err):
			out[t] = nil
		case err != nil:
			errs[t] = fmt.Errorf("read secret %s: %w", t, err)
		default:
			if err := desired.ForcedWriteProblem(es, nil, string(s.Type)); err != nil {
				errs[t] = fmt.Errorf("secret %s: %w", t, err)
			}
			out[t] = s
		}
	}
	return out, errs
}

// buildMerge makes the partial Secret a merging ExternalSecret applies: its
// keys and its own hash annotation, no labels.
func (r *Reconciler) buildMerge(es *render.ExternalSecret, t plan.Target, raw map[string][]byte) desiredSecret {
	s := &corev1.Secret{Data: raw}
	s.Name, s.Namespace = t.Name, t.Namespace
	s.Annotations = map[string]string{}
	key := plan.MergeKey(esID(es))
	sh := drift.ShapeOf(s, key, false)
	hash := sh.Hash(s)
	s.Annotations[key] = hash
	return desiredSecret{es: es, target: t, secret: s, shape: sh, hash: hash}
}
