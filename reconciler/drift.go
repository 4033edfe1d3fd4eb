package reconciler

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/drift"
)

// WatchDrift runs the drift watch (drift.Watch.Run) over this instance's
// Secrets until ctx ends; notify asks for a pass.
func (r *Reconciler) WatchDrift(ctx context.Context, notify func()) {
	r.watch.Run(ctx, r.kube, r.cfg.Namespaces, r.selector(), r.log, notify)
}

func (r *Reconciler) selector() string { return labels.SelectorFromSet(r.labels()).String() }

// liveTargets is a pass's cache of the live targets (drift.Live).
func (r *Reconciler) liveTargets(keep bool) *drift.Live {
	return drift.NewLive(drift.Scope{Instance: r.cfg.Instance, Namespaces: r.cfg.Namespaces, Selector: r.selector()}, r.targets().List, keep)
}
