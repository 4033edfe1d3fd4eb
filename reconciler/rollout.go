package reconciler

import (
	"context"

	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/rollout"
)

// rollout executes plan.RollOut (package rollout) for the opted-in
// workloads in namespaces whose Secrets changed. hashes maps each managed
// Secret to its content hash after the pass.
func (r *Reconciler) rollout(ctx context.Context, changed map[string]bool, hashes map[plan.Target]string, res *Result) {
	out := rollout.Execute(ctx, r.kube, FieldManager, rollout.Changes{Namespaces: changed, Hashes: hashes})
	for _, err := range out.Errs {
		res.fail(ApplyFailed, err)
	}
	for _, ro := range out.Rollouts {
		r.executed(ro.Action)
		if ro.Err != nil {
			res.fail(ApplyFailed, ro.Err)
			continue
		}
		res.Rollouts++
		t := ro.Action.Target
		r.log.Info().Str("namespace", t.Namespace).Str("workload", t.Kind+"/"+t.Name).Msg("rollout: secrets changed")
	}
}
