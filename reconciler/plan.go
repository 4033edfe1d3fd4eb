package reconciler

import (
	"context"
	"iter"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// This file turns what a pass observed and built into the plan package's
// inputs and asks it for the pass's actions: Pass executes them (apply.go,
// prune.go), Diff prints them (diff.go). Nothing here decides.

func (k targetKey) plan() plan.Target {
	return plan.Target{Namespace: k.namespace, Name: k.name, Kind: k.kind}
}

// planWrites plans one part of desired Secrets against the targets as the
// pass read them; current[i] is want[i]'s target (nil: none, or not read).
func (r *Reconciler) planWrites(ctx context.Context, want []desiredSecret, live *drift.Live, merged map[targetKey]*corev1.Secret, mergeErr map[targetKey]error) (actions []plan.Action, current []*corev1.Secret) {
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
			current[i], err = live.Get(ctx, d.target.plan())
		}
		lives[i] = plan.Live{Exists: current[i] != nil, Err: err,
			Matches: d.shape != nil && !d.reused && d.shape.Matches(current[i], d.hash)}
	}
	return plan.Writes(wants, lives), current
}

// planPrune splits the old inventory (its entries, read as they come) against the targets in their desired
// state after the writes (done) and the failed ones (blocked) with
// inventory.Stale, and asks the prune guard (inventory.PruneGuard) about the
// stale ones: the prune actions (prunes[i] is split.Stale[i]'s) and the
// refusal the pass reports, if the guard's refusal is a failure of its own.
// A record it cannot read whole releases nothing (split.Kept holds those)
// and is readErr.
func (r *Reconciler) planPrune(old iter.Seq2[inventory.Entry, error], set *render.Set, done map[targetKey]*render.ExternalSecret, blocked map[targetKey]bool) (split inventory.Split, prunes []plan.Action, refusal, readErr error) {
	owned := make(map[targetKey]bool, len(done))
	for t, es := range done {
		owned[t] = desired.CreationPolicy(es) == desired.PolicyOwner
	}
	inGit := make(map[targetKey]bool, len(set.ExternalSecrets))
	for _, es := range set.ExternalSecrets {
		inGit[target(es)] = true
	}
	split, readErr = inventory.Stale(old, keyOf, owned, inGit, blocked)
	if readErr != nil {
		split.Kept, split.Released = append(split.Kept, split.Released...), nil
	}
	verdict := r.pruneGuard(inventory.Prune{Noun: "ExternalSecret", Unreadable: readErr != nil,
		RenderErrors: len(set.Errors), Candidates: len(split.Stale), Recorded: split.Recorded, Rendered: len(set.ExternalSecrets)})
	stale := make([]plan.Target, len(split.Stale))
	for i, e := range split.Stale {
		stale[i] = keyOf(e).plan()
	}
	prunes, refusal = plan.Prunes(stale, verdict.Reason, verdict.Failure)
	return split, prunes, refusal, readErr
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
