package reconciler

import (
	"context"
	"strings"
	"time"

	"k8s.io/client-go/metadata"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/render"
)

// newPusher builds the PushSecrets' executor (package pushsecret) on this
// Reconciler's clients and rules.
func (r *Reconciler) newPusher() *pushsecret.Pusher {
	return pushsecret.New(pushsecret.Config{Kube: r.kube, Namespaces: r.cfg.Namespaces, OwnNamespaces: r.cfg.OwnNamespaces, Concurrency: r.cfg.Concurrency, Provider: r.provider,
		Generate: r.runGenerator, Guard: r.pruneGuard, Events: r.event,
		Now: func() time.Time { return r.now() }, Log: r.log})
}

// SetMetadataClient gives the PushSecrets' source watch its metadata-only
// client; without one it does not run and every poll reads every source.
func (r *Reconciler) SetMetadataClient(m metadata.Interface) { r.push.SetMetadataClient(m) }

// WatchPushSources watches the PushSecrets' source Secrets (metadata
// only) until ctx ends, calling notify when one changes.
func (r *Reconciler) WatchPushSources(ctx context.Context, notify func()) { r.push.Watch(ctx, notify) }

// pushAll pushes set's PushSecrets and records in res what they did. It
// returns the inventory's push rows, and the error of a record whose rows
// could not be read again (then no remote secret was deleted).
func (r *Reconciler) pushAll(ctx context.Context, set *render.Set, rec *record, res *Result) ([]inventory.PushRow, error) {
	old, readErr := rec.Pushed()
	out := r.push.Push(ctx, pushsecret.Pass{Set: set, Old: old, Unreadable: readErr != nil, Redactor: r.scrub})
	for _, err := range out.Failed {
		res.fail(ApplyFailed, err)
	}
	res.pushErrors += len(out.Failed)
	res.PushActions = out.Actions
	for _, id := range out.FailedIDs {
		if res.pushFailed == nil {
			res.pushFailed = map[string]bool{}
		}
		res.pushFailed[id] = true
	}
	for _, err := range out.PruneFailed {
		res.fail(PruneFailed, err)
	}
	res.Pushed += out.Pushed
	res.PushDeleted += out.Deleted
	if res.PruneSkipped == "" {
		res.PruneSkipped = out.PruneSkipped
	}
	res.PruneRefused = append(res.PruneRefused, out.PruneRefused...)
	return out.Rows, readErr
}

// DiffPushes is what the next pass would do to each remote secret its
// PushSecrets write (pushsecret's Diff), on the revision and push rows a
// pass reads, writing nothing. errs left some undecided; a failed fetch or
// render is one (Diff reports the same).
func (r *Reconciler) DiffPushes(ctx context.Context) (actions []pushsecret.Action, errs []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scrub = scrub.New()
	defer func() { r.scrub = nil }()
	res := Result{scrub: r.scrub}
	snap, err := r.src.Fetch(ctx)
	if err != nil {
		return nil, []error{err}
	}
	set, err := r.renderSnapshot(ctx, snap.Dir, &res)
	if err != nil {
		return nil, res.Errors
	}
	r.expandClusterExternalSecrets(ctx, set, &res)
	old, _, _, err := r.loadInventory(ctx, false)
	if err != nil {
		return nil, []error{err}
	}
	rows, readErr := old.Pushed()
	return r.push.Diff(ctx, pushsecret.Pass{Set: set, Old: rows, Unreadable: readErr != nil, Redactor: r.scrub})
}

// TouchedFailed reports whether what Touch returned as touched (an
// ExternalSecret's namespace/name, or "PushSecret namespace/name") failed
// in the pass: an AWS event about it is then kept for a retry.
func (r Result) TouchedFailed(touched string) bool {
	if id, ok := strings.CutPrefix(touched, "PushSecret "); ok {
		return r.pushFailed[id]
	}
	return r.ExternalSecretFailed(touched)
}
