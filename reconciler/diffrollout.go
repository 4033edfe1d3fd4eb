package reconciler

import (
	"context"

	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/rollout"
)

// rolloutChanges is what rollout on change reads of a pass, gathered by
// Diff as Pass's write gathers it; nil when rollout is off.
func (r *Reconciler) rolloutChanges() *rollout.Changes {
	if !r.cfg.ReloadWorkloads {
		return nil
	}
	return &rollout.Changes{Namespaces: map[string]bool{}, Hashes: map[plan.Target]string{}}
}

// addRolloutChange adds one desired Secret and the action planned for it:
// its content hash after the pass, and its namespace when the action
// writes it (every namespace on this process's first pass, as Pass).
func (r *Reconciler) addRolloutChange(ch *rollout.Changes, d desiredSecret, a plan.Action) {
	if ch == nil {
		return
	}
	ch.Hashes[d.target.plan()] = d.hash
	if a.Kind == plan.Create || a.Kind == plan.Apply || a.Kind == plan.Merge || !r.rolledOnce {
		ch.Namespaces[d.target.namespace] = true
	}
}

// diffRollouts is the rollouts the pass would make: rollout.Plan, which
// asks plan.RollOut of each opted-in workload as Execute does, patching
// nothing. A namespace whose workloads cannot be listed is an error.
func (r *Reconciler) diffRollouts(ctx context.Context, ch *rollout.Changes, res *Result) []SecretDiff {
	if ch == nil {
		return nil
	}
	acts, errs := rollout.Plan(ctx, r.kube, *ch)
	for _, err := range errs {
		res.fail(ApplyFailed, err)
	}
	out := make([]SecretDiff, len(acts))
	for i, a := range acts {
		out[i] = SecretDiff{Namespace: a.Target.Namespace, Name: a.Target.Name, Kind: a.Target.Kind, Action: string(plan.Rollout)}
	}
	return out
}
