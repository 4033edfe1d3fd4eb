package reconciler

import (
	"context"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/rollout"
)

// SecretDiff is one action of the plan as Diff prints it (plan.Diff).
type SecretDiff = plan.Diff

// Diff plans a forced pass and prints its plan, writing nothing: no apply,
// no prune, no inventory, no Event, no rollout. The plan is the one Pass
// executes (planWrites, planPrune, plan.RollOut), so Diff never announces
// what Pass refuses.
func (r *Reconciler) Diff(ctx context.Context) ([]SecretDiff, Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scrub = scrub.New()
	defer func() { r.scrub = nil }()
	res := Result{scrub: r.scrub}
	snap, err := r.src.Fetch(ctx)
	if err != nil {
		res.fail(FetchFailed, err)
		return nil, res
	}
	res.Revision = snap.Revision
	obs, ok := r.observe(ctx, snap, true, &res)
	if !ok {
		return nil, res
	}
	if !obs.old.ours { // as Pass: what a forced pass would do starts from the recorded state
		if err := r.restore(obs.old); err != nil {
			unreadable(&res, err)
			return nil, res
		}
		obs.live.ReadManaged()
		defer func() { r.restored = nil }()
	}
	var out []SecretDiff
	// done is what Pass's writes leave in their desired state if they
	// succeed: what its prune plan reads.
	done := map[plan.Target]*render.ExternalSecret{}
	var changes rollout.Changes // what rollout on change reads, gathered as Pass's write does
	if r.cfg.ReloadWorkloads {
		changes = rollout.NewChanges()
	}
	for part := range r.desired(ctx, obs.set, snap.Revision, obs.live, obs.merged, true, false, &res) {
		actions, current := r.planWrites(ctx, part, obs.live, obs.merged, obs.mergeErr)
		for i, d := range part {
			if doneAfter(actions[i]) {
				done[d.target] = d.es
			}
			changes.Add(d.target, d.hash, actions[i].Writes() || !r.rolledOnce)
			if sd, ok := diffOf(actions[i], d, current[i]); ok {
				out = append(out, sd)
			}
		}
	}
	split, prunes, _, readErr := r.planPrune(obs.old.Entries(), obs.set, done, res.failedTargets(obs.set))
	if readErr != nil {
		unreadable(&res, readErr)
		return nil, res
	}
	for _, e := range split.Released {
		out = append(out, plan.Action{Kind: plan.Orphan, Target: e.Key()}.Diff())
	}
	rollouts, errs := rollout.Plan(ctx, r.kube, changes) // as Execute decides, patching nothing
	for _, err := range errs {
		res.fail(ApplyFailed, err)
	}
	for _, a := range append(prunes, rollouts...) {
		out = append(out, a.Diff())
	}
	for i := range out {
		out[i].Redact(r.scrub.String)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, res
}

// diffOf prints one action of the plan; ok false for one that changes
// nothing (keep, nothing). current is the target as the plan read it.
func diffOf(a plan.Action, d desiredSecret, current *corev1.Secret) (sd SecretDiff, ok bool) {
	sd = a.Diff()
	switch {
	case a.Kind == plan.Keep || a.Kind == plan.Nothing:
		return sd, false
	case a.Kind == plan.Create || a.Kind == plan.Merge && current == nil:
		sd.Action, sd.Added = string(plan.Create), slices.Clone(d.shape.Keys())
	case a.Kind == plan.Apply || a.Kind == plan.Merge:
		sd.Action, sd.Change = "change", compare(current, d)
		if a.Kind == plan.Merge {
			if taken := plan.ForeignOwners(current, sd.Changed, a.FieldManager); len(taken) > 0 {
				sd.TakenFrom = taken
			}
		}
	}
	return sd, true
}

// compare is what applying d changes in live; an owning write removes
// the keys live holds and d does not (those secretsync wrote: others'
// keys stay under a server-side apply).
func compare(live *corev1.Secret, d desiredSecret) plan.Change {
	return plan.ChangeOf(live.Data, d.secret.Data, d.shape.Keys(), desired.Owning(d.es))
}
