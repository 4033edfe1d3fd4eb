package reconciler

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// AnnotationPrune set to "disabled" on a Secret keeps secretsync from ever
// deleting it; secretsync then forgets it.
const AnnotationPrune = "secretsync.io/prune"

// AnnotationOrphaned marks a Secret secretsync left behind on purpose: one
// written under creationPolicy Orphan, or released from the inventory while
// its ExternalSecret is in Git under a policy that does not own it. It keeps
// our labels (an Orphan ExternalSecret still updates it), but an inventory
// rebuilt from the labels skips it and prune never deletes it: an orphan is
// never adopted again, as ESO leaves an orphaned Secret unowned. Removing
// the annotation hands it back.
const AnnotationOrphaned = "secretsync.io/orphaned"

// prune executes the prune plan (planPrune): it deletes the Secrets in the
// inventory that no ExternalSecret in Git produces any more, and returns
// the next inventory: what was applied, the kept entries of ExternalSecrets
// that failed, and whatever could not be pruned, so that nothing is
// orphaned. A record it cannot read whole releases and prunes nothing.
func (r *Reconciler) prune(ctx context.Context, old iter.Seq2[inventory.Entry, error], set *render.Set, applied map[plan.Target]*render.ExternalSecret, blocked map[plan.Target]bool, res *Result) (inventory.Inventory, error) {
	next := inventory.Inventory{Entries: make([]inventory.Entry, 0, len(applied))}
	for _, t := range slices.SortedFunc(maps.Keys(applied), plan.Compare) {
		if es := applied[t]; desired.CreationPolicy(es) == desired.PolicyOwner {
			next.Entries = append(next.Entries, inventory.EntryOf(t, esID(es), es.Source))
		}
	}
	split, prunes, refusal, readErr := r.planPrune(old, set, applied, blocked)
	next.Entries = append(next.Entries, split.Kept...)
	for _, e := range split.Released { // none when the record could not be read
		r.executed(plan.Action{Kind: plan.Orphan, Target: e.Key()})
		if err := r.release(ctx, e); err != nil {
			res.fail(PruneFailed, fmt.Errorf("release %s: %w", e.Key().Named(), err))
			next.Entries = append(next.Entries, e) // released on a later pass
		}
	}
	candidates := split.Stale
	if refusal != nil {
		res.fail(PruneFailed, refusal)
	}
	if len(prunes) > 0 && prunes[0].Kind == plan.Refused {
		res.PruneSkipped = prunes[0].Reason
		for i, e := range candidates {
			r.executed(prunes[i])
			res.PruneRefused = append(res.PruneRefused, e.Key().String())
		}
		next.Entries = append(next.Entries, candidates...)
		return next, readErr
	}
	var mu sync.Mutex
	jobs := make([]func(), 0, len(candidates))
	for i, e := range candidates {
		r.executed(prunes[i])
		jobs = append(jobs, func() {
			deleted, err := r.pruneOne(ctx, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.fail(PruneFailed, fmt.Errorf("prune %s: %w", e.Key().Named(), err))
				next.Entries = append(next.Entries, e)
				return
			}
			if deleted {
				res.Pruned++
				res.deleted = append(res.deleted, e)
			}
		})
	}
	parallel.Run(r.cfg.Concurrency, jobs)
	return next, readErr // stale ones are refused when it is set: nothing ran
}

// pruneOne deletes one target after checking, right before the delete,
// that it is still this instance's (owns); the delete is conditional on the
// version checked. A target that is gone, no longer ours, or opted out is
// dropped from the inventory without a delete.
func (r *Reconciler) pruneOne(ctx context.Context, e inventory.Entry) (deleted bool, err error) {
	t := e.Key()
	s, err := r.targets().Get(ctx, t)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l := r.log.With().Str("namespace", e.Namespace).Str("secret", e.Name).Str("kind", cluster.Ref(t).Kind).Logger()
	if !r.owns(t.Kind, s.ObjectMeta) {
		l.Warn().Msg("not pruned: the " + t.Noun() + " no longer carries this instance's labels")
		return false, nil
	}
	if s.Annotations[AnnotationPrune] == "disabled" {
		l.Info().Msg("not pruned: annotated " + AnnotationPrune + "=disabled")
		return false, nil
	}
	if s.Annotations[AnnotationOrphaned] != "" {
		l.Info().Msg("not pruned: orphaned (" + AnnotationOrphaned + ")")
		return false, nil
	}
	err = r.targets().Delete(ctx, t, s)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l.Info().Msg("pruned")
	return true, nil
}

// release marks a target that leaves the inventory but stays (see
// AnnotationOrphaned), so that a rebuild never takes it back; one that is
// gone, no longer ours or already marked needs nothing.
func (r *Reconciler) release(ctx context.Context, e inventory.Entry) error {
	t := e.Key()
	s, err := r.targets().Get(ctx, t)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !r.owns(t.Kind, s.ObjectMeta) || s.Annotations[AnnotationOrphaned] != "" {
		return nil
	}
	err = r.targets().MergePatch(ctx, t, []byte(`{"metadata":{"annotations":{"`+AnnotationOrphaned+`":"true"}}}`))
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// pruneGuard asks inventory.PruneGuard with this instance's settings.
func (r *Reconciler) pruneGuard(p inventory.Prune) inventory.Verdict {
	p.AllowEmpty, p.Budget = r.cfg.AllowEmpty, r.cfg.PruneBudget
	return inventory.PruneGuard(p)
}
