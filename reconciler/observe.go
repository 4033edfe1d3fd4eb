package reconciler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// observed is what a pass knows before it resolves anything: the rendered
// revision, the inventory, and the live Secrets it writes to.
type observed struct {
	set      *render.Set
	old      *record // the inventory
	lost     string  // why the inventory was rebuilt, if it was
	wanted   string  // the revision status --wait asks to be recorded
	live     *drift.Live
	merged   map[plan.Target]*corev1.Secret
	mergeErr map[plan.Target]error
}

// observe renders a fetched revision and reads the inventory and the live
// Secrets: the start that Pass and Diff share. ok false means res holds why
// it stopped.
func (r *Reconciler) observe(ctx context.Context, snap gitsource.Snapshot, keepLive bool, res *Result) (obs *observed, ok bool) {
	res.enter(StageRender, r.now())
	set, err := r.renderSnapshot(ctx, snap.Dir, res)
	if err != nil {
		return nil, false
	}
	r.expandClusterExternalSecrets(ctx, set, res)
	old, wanted, lost, err := r.loadInventory(ctx, keepLive)
	if err != nil {
		res.fail(ApplyFailed, err)
		res.PruneSkipped = "inventory unreadable"
		return nil, false
	}
	res.enter(StageResolve, r.now())
	obs = &observed{set: set, old: old, lost: lost, wanted: wanted}
	obs.live = r.liveTargets(keepLive)
	obs.merged, obs.mergeErr = r.listMerged(ctx, set)
	return obs, true
}

// renderSnapshot renders the configured path; per-object errors are
// recorded in res and returned in the set.
func (r *Reconciler) renderSnapshot(ctx context.Context, dir string, res *Result) (*render.Set, error) {
	set, err := render.Render(ctx, dir, r.cfg.Path, r.cfg.Render)
	if err != nil {
		res.fail(RenderFailed, fmt.Errorf("render %s: %w", r.cfg.Path, err))
		res.PruneSkipped = "render failed"
		return nil, err
	}
	for _, e := range set.Errors {
		res.fail(RenderFailed, e)
		res.Failed++
	}
	res.OtherObjects = len(set.Skipped)
	return set, nil
}

// expandClusterExternalSecrets adds the ExternalSecrets that the
// ClusterExternalSecrets of set make in the namespaces of the cluster now,
// so that a namespace that starts or stops matching is a change like any
// other (created, or pruned under the same guards). Errors are the
// ClusterExternalSecrets' own: they block prune, nothing else.
func (r *Reconciler) expandClusterExternalSecrets(ctx context.Context, set *render.Set, res *Result) {
	if len(set.ClusterExternalSecrets) == 0 {
		return
	}
	before := len(set.Errors)
	nss, err := cluster.Namespaces(ctx, r.kube)
	if err != nil {
		for _, c := range set.ClusterExternalSecrets {
			set.Errors = append(set.Errors, &render.ObjectError{Source: c.Source, Kind: render.KindClusterExternalSecret, Name: c.Name,
				Err: fmt.Errorf("list namespaces to expand it (secretsync needs list on namespaces): %w", err)})
		}
	} else {
		desired.Expand(set, nss)
	}
	for _, e := range set.Errors[before:] {
		res.fail(RenderFailed, e)
		res.Failed++
	}
}
