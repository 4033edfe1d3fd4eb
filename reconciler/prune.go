package reconciler

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/render"
)

// AnnotationPrune set to "disabled" on a Secret keeps secretsync from ever
// deleting it; secretsync then forgets it.
const AnnotationPrune = "secretsync.io/prune"

// prune deletes the Secrets in the inventory that no ExternalSecret in Git
// produces any more, and returns the next inventory: what was applied, the
// kept entries of ExternalSecrets that failed, and whatever could not be
// pruned, so that nothing is orphaned.
func (r *Reconciler) prune(ctx context.Context, old Inventory, set *render.Set, applied map[targetKey]*render.ExternalSecret, blocked map[targetKey]bool, res *Result) Inventory {
	next := Inventory{Revision: old.Revision}
	for _, t := range sortedKeys(applied) {
		es := applied[t]
		next.Entries = append(next.Entries, Entry{Namespace: t.namespace, Name: t.name, ExternalSecret: es.Namespace + "/" + es.Name, Source: es.Source})
	}
	var candidates []Entry
	for _, e := range old.Entries {
		switch {
		case applied[e.key()] != nil:
		case blocked[e.key()]:
			next.Entries = append(next.Entries, e) // in Git but failing: keep
		default:
			candidates = append(candidates, e)
		}
	}
	if len(candidates) == 0 {
		return next
	}
	if n := len(set.Errors); n > 0 {
		res.PruneSkipped = fmt.Sprintf("render reported %d errors", n)
		next.Entries = append(next.Entries, candidates...)
		return next
	}
	for _, e := range candidates {
		deleted, err := r.pruneOne(ctx, e)
		if err != nil {
			res.fail(PruneFailed, fmt.Errorf("prune secret %s: %w", e.key(), err))
			next.Entries = append(next.Entries, e)
			continue
		}
		if deleted {
			res.Pruned++
		}
	}
	return next
}

// pruneOne deletes one Secret after checking, right before the delete, that
// it still carries this instance's labels; the delete is conditional on the
// version checked. A Secret that is gone, no longer ours, or opted out is
// dropped from the inventory without a delete.
func (r *Reconciler) pruneOne(ctx context.Context, e Entry) (deleted bool, err error) {
	secrets := r.kube.CoreV1().Secrets(e.Namespace)
	s, err := secrets.Get(ctx, e.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l := r.log.With().Str("namespace", e.Namespace).Str("secret", e.Name).Logger()
	if s.Labels[LabelManagedBy] != ManagedByValue || s.Labels[LabelInstance] != r.cfg.Instance {
		l.Warn().Msg("not pruned: the secret no longer carries this instance's labels")
		return false, nil
	}
	if s.Annotations[AnnotationPrune] == "disabled" {
		l.Info().Msg("not pruned: annotated " + AnnotationPrune + "=disabled")
		return false, nil
	}
	err = secrets.Delete(ctx, e.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l.Info().Msg("pruned")
	return true, nil
}
