package reconciler

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// This file turns what a pass observed and built into the plan package's
// inputs and asks it for the pass's actions: Pass executes them (apply.go,
// prune.go), Diff prints them (diff.go). Nothing here decides.

func (k targetKey) plan() plan.Target {
	return plan.Target{Namespace: k.namespace, Name: k.name, Kind: k.kind}
}

func keyOf(t plan.Target) targetKey { return targetKey{t.Namespace, t.Name, t.Kind} }

// planWrites plans one part of desired Secrets against the targets as the
// pass read them; current[i] is want[i]'s target (nil: none, or not read).
func (r *Reconciler) planWrites(ctx context.Context, want []desiredSecret, live *liveTargets, merged map[targetKey]*corev1.Secret, mergeErr map[targetKey]error) (actions []plan.Action, current []*corev1.Secret) {
	wants := make([]plan.Want, len(want))
	lives := make([]plan.Live, len(want))
	current = make([]*corev1.Secret, len(want))
	for i, d := range want {
		wants[i] = plan.Want{Target: d.target.plan(), ExternalSecret: esID(d.es), Policy: desired.CreationPolicy(d.es),
			Merges: desired.Merges(d.es), Immutable: d.es.Spec.Target.Immutable, Gone: d.gone, Retained: d.retained, Reused: d.reused}
		var err error
		switch {
		case wants[i].Merges:
			wants[i].MergeManager = mergeManager(d.es)
			current[i], err = merged[d.target], mergeErr[d.target]
		case !d.reused: // a reused one is known to match: no need to read it
			current[i], err = live.get(ctx, d.target)
		}
		lives[i] = plan.Live{Exists: current[i] != nil, Err: err,
			Matches: d.shape != nil && !d.reused && d.shape.matches(current[i], d.hash)}
	}
	return plan.Writes(wants, lives), current
}

// planPrune reads the old inventory against the targets in their desired
// state after the writes (done) and the failed ones (blocked): the entries
// that stay, those released (orphaned) and the prune actions with the
// guards' verdict (prunes[i] is candidates[i]'s), and the refusal the pass
// reports, if the guard refused.
func (r *Reconciler) planPrune(old *record, set *render.Set, done map[targetKey]*render.ExternalSecret, blocked map[targetKey]bool) (kept, released, candidates []Entry, prunes []plan.Action, refusal error) {
	inGit := make(map[targetKey]bool, len(set.ExternalSecrets))
	for _, es := range set.ExternalSecrets {
		inGit[target(es)] = true
	}
	var stale []plan.Target
	recorded := 0
	for e := range old.entries() {
		recorded++
		es := done[e.key()]
		switch plan.Stale(plan.Entry{Target: e.key().plan(), Owned: es != nil && desired.CreationPolicy(es) == desired.PolicyOwner,
			Blocked: blocked[e.key()], InGit: inGit[e.key()]}) {
		case plan.Keep:
			if es == nil || desired.CreationPolicy(es) != desired.PolicyOwner {
				kept = append(kept, e) // in Git but failing; the written ones are recorded anew
			}
		case plan.Orphan:
			released = append(released, e)
		case plan.Prune:
			candidates = append(candidates, e)
			stale = append(stale, e.key().plan())
		}
	}
	prunes, refusal = plan.Prunes(stale, plan.Guards{Unreadable: old.err != nil, RenderErrors: len(set.Errors),
		Verdict: func(n int) string { return pruneGuard(n, recorded, len(set.ExternalSecrets), r.cfg) }})
	return kept, released, candidates, prunes, refusal
}

// doneAfter is the target an action leaves in its desired state, when it
// succeeds: what Diff expects the pass's writes to leave for prune to read.
func doneAfter(a plan.Action) bool {
	switch a.Kind {
	case plan.Create, plan.Apply, plan.Merge, plan.Keep:
		return true
	}
	return a.Kind == plan.Refused && a.Err == nil // immutable: kept as it is
}

// executed tells a test's onAction of an action the pass executes.
func (r *Reconciler) executed(a plan.Action) {
	if r.onAction != nil {
		r.onAction(a)
	}
}
