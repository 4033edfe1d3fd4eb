package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

func comparePushRows(a, b inventory.PushRow) int { return strings.Compare(a.Key(), b.Key()) }

// pushState is what the last push of a PushSecret left in memory: the
// digest of its spec and of the values it pushed, and when. A PushSecret
// whose digest is the same is pushed again only when its refreshInterval
// has passed; one never pushed since this process started is pushed (the
// provider compares before it writes, so that costs reads, not writes).
type pushState struct {
	sum      [32]byte
	last     time.Time
	interval time.Duration
	ok       bool
	// The PushSecret and its sources' versions when they were read: a pass
	// that would otherwise be skipped reads them and runs when they
	// changed, so a changed source is pushed by the next poll.
	ps       *render.PushSecret
	versions string
	// touched: an AWS event named a remote secret it writes (Touch).
	touched bool
}

// pushDefaultInterval is ESO's default refreshInterval for a PushSecret.
const pushDefaultInterval = time.Hour

// pushRefreshDue is the periodic refresh rule (plan.Refresh, its one
// home) for a push made at at: due once refreshInterval has passed, never
// for an interval of 0.
func pushRefreshDue(interval time.Duration, at, now time.Time) bool {
	return plan.Refresh{Interval: interval, Synced: true, At: at}.Due(now)
}

func pushInterval(ps *render.PushSecret) time.Duration {
	if ps.Spec.RefreshInterval == nil {
		return pushDefaultInterval
	}
	return ps.Spec.RefreshInterval.Duration
}

// pushDue reports whether some PushSecret's refresh has come, one failed,
// or a source changed: a pass then runs even when nothing else changed.
// With the source watch up and unbroken since, no source is read; else
// each is read again, and finding none changed vouches for them as the
// watch would.
func (r *Reconciler) pushDue(ctx context.Context) bool {
	now := r.now()
	if r.pushWatch.dirty.Load() {
		return true
	}
	for _, st := range r.pushStates {
		if !st.ok || st.touched || pushRefreshDue(st.interval, st.last, now) {
			return true
		}
	}
	if r.pushWatch.trusted() {
		return false
	}
	gen, up := r.pushWatch.gen.Load(), r.pushWatch.up.Load() == r.pushWatch.wanted.Load()
	for _, st := range r.pushStates {
		if st.ps != nil && r.sourceVersions(ctx, st.ps) != st.versions {
			return true
		}
	}
	if up {
		r.pushWatch.lastGen.Store(gen)
	}
	return false
}

// pushRef is the object a PushSecret's Events are about.
func pushRef(ps string) corev1.ObjectReference {
	ns, name, _ := strings.Cut(ps, "/")
	return corev1.ObjectReference{APIVersion: render.Group + "/v1alpha1", Kind: render.KindPushSecret, Namespace: ns, Name: name}
}

// pushAll decides every PushSecret's writes (planPush), refuses remote
// secrets PushSecrets of two namespaces write, pushes those due, and
// returns the rows for the inventory: the pushed ones, those carried over,
// and those whose deletion was refused or failed (so that a later pass
// tries again). A record whose rows cannot be read again deletes nothing,
// and is the error.
func (r *Reconciler) pushAll(ctx context.Context, set *render.Set, rec *record, res *Result) ([]inventory.PushRow, error) {
	// Events from here on make the next pass due; this one reads them.
	r.pushWatch.lastGen.Store(r.pushWatch.gen.Load())
	r.pushWatch.dirty.Store(false)
	defer r.pushWatch.indexSources(set.PushSecrets, r.cfg.Namespaces)
	old, readErr := rec.Pushed()
	stores := desired.IndexStores(set)
	oldBy := map[string][]inventory.PushRow{}
	for _, row := range old {
		oldBy[row.PushSecret] = append(oldBy[row.PushSecret], row)
	}
	nsLabels := cluster.NamespaceLabels(ctx, r.kube)
	gens := desired.IndexGenerators(set)
	plans := make(map[string]*pushPlan, len(set.PushSecrets))
	for _, ps := range set.PushSecrets {
		p := r.planPush(ctx, ps, stores, gens, nsLabels, oldBy[ps.ID()])
		plans[ps.ID()] = &p
	}
	shared := desired.SharedRemotes(set.PushSecrets, func(ps *render.PushSecret) []desired.PushRemote {
		if p := plans[ps.ID()]; p.err == nil && !p.kept {
			return remotesOf(p.entries)
		}
		return desired.StaticRemotes(ps, stores)
	})
	states := make(map[string]*pushState, len(set.PushSecrets))
	var next []inventory.PushRow
	for _, ps := range set.PushSecrets {
		p := plans[ps.ID()]
		if shared[ps.ID()] != nil && p.err == nil {
			p.err = *shared[ps.ID()]
		}
		next = append(next, r.pushOne(ctx, ps, p, stores, oldBy[ps.ID()], states, res)...)
	}
	r.pushStates = states
	next = append(next, r.pushPrune(ctx, set, stores, old, readErr != nil, next, res)...)
	slices.SortFunc(next, comparePushRows)
	r.remotes.Pushes = pushRemotes(next, stores)
	return next, readErr
}

// pushOne executes p for ps. A PushSecret that fails before it pushes
// keeps its rows as they were, so that nothing it wrote is pruned for it.
func (r *Reconciler) pushOne(ctx context.Context, ps *render.PushSecret, p *pushPlan, stores map[desired.StoreKey]*render.SecretStore,
	old []inventory.PushRow, states map[string]*pushState, res *Result) []inventory.PushRow {
	id := ps.ID()
	if p.err != nil {
		err := res.fail(ApplyFailed, fmt.Errorf("PushSecret %s (%s): %w", id, ps.Source, p.err))
		states[id] = &pushState{interval: pushInterval(ps), ps: ps}
		rows := failedRows(ps, stores, old)
		for i := range rows {
			rows[i].Ready, rows[i].Reason, rows[i].Message = false, string(ApplyFailed), err.Error()
		}
		r.event(ctx, pushRef(id), corev1.EventTypeWarning, "PushFailed", err.Error())
		return rows
	}
	now := r.now()
	interval := pushInterval(ps)
	if p.kept { // generated values already in AWS, not due
		states[id] = &pushState{last: now, ok: true, interval: interval, ps: ps, versions: p.versions}
		return old
	}
	last := map[string]inventory.PushRow{}
	for _, o := range old {
		last[o.Key()] = o
	}
	rows := make([]inventory.PushRow, len(p.entries))
	for i, e := range p.entries {
		rows[i] = inventory.PushRow{PushSecret: id, Source: ps.Source, Secret: ps.Namespace + "/" + e.Source, Store: e.Store.String(),
			RemoteKey: e.RemoteKey, Property: e.Property, Delete: ps.Deletes(), Generator: p.generator}
	}
	prev := r.pushStates[id]
	if prev != nil && prev.ok && !prev.touched && prev.sum == p.sum && !pushRefreshDue(interval, prev.last, now) {
		prev.versions, prev.ps = p.versions, ps
		states[id] = prev
		for i := range rows {
			rows[i] = last[rows[i].Key()]
		}
		return rows
	}
	errs := r.pushEntries(ctx, ps, p.entries, rows, last, stores, now, res)
	if len(errs) > 0 {
		err := res.fail(ApplyFailed, fmt.Errorf("PushSecret %s (%s): %w", id, ps.Source, errors.Join(errs...)))
		r.event(ctx, pushRef(id), corev1.EventTypeWarning, "PushFailed", err.Error())
	}
	states[id] = &pushState{sum: p.sum, last: now, ok: len(errs) == 0, interval: interval, ps: ps, versions: p.versions}
	return rows
}

// failedRows are the rows of a PushSecret refused before it pushed: its
// rows as they were (nothing it wrote is pruned for it), one for each
// remote secret Git names for it that none covers, or one without a
// remote key, so that status shows it refused.
func failedRows(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore, old []inventory.PushRow) []inventory.PushRow {
	rows := slices.Clone(old)
	have := map[string]bool{}
	for _, row := range old {
		have[row.Remote()] = true
	}
	for _, rm := range desired.StaticRemotes(ps, stores) {
		row := inventory.PushRow{PushSecret: ps.ID(), Source: ps.Source, Store: rm.Store.String(), RemoteKey: rm.RemoteKey, Delete: ps.Deletes()}
		if !have[row.Remote()] {
			have[row.Remote()] = true
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		rows = append(rows, inventory.PushRow{PushSecret: ps.ID(), Source: ps.Source})
	}
	return rows
}

// pushEntries writes each entry through its store's provider and fills its
// row; it returns the errors.
func (r *Reconciler) pushEntries(ctx context.Context, ps *render.PushSecret, entries []desired.PushEntry, rows []inventory.PushRow, last map[string]inventory.PushRow,
	stores map[desired.StoreKey]*render.SecretStore, now time.Time, res *Result) []error {
	var errs []error
	for i, e := range entries {
		row := &rows[i]
		row.LastPush = last[row.Key()].LastPush
		pusher, err := r.pusher(ctx, stores[e.Store], e.Store, ps.Namespace)
		var did providers.Pushed
		var remoteKey string
		if err == nil {
			remoteKey = pusher.(providers.Provider).Canonical(providers.Ref{Key: e.RemoteKey}).Key
			did, err = pusher.Push(ctx, providers.Push{Key: remoteKey, Property: e.Property, Value: e.Value.Bytes(),
				IfNotExists: ps.Updates() == render.PushIfNotExists, Metadata: e.Metadata})
			if err != nil {
				err = fmt.Errorf("push %s to %s: %w", e.Field, e.Store, err)
			}
		}
		if err != nil {
			errs = append(errs, err)
			row.Reason, row.Message = string(ApplyFailed), res.scrub.String(err.Error())
			continue
		}
		row.Ready, row.Reason = true, string(did)
		if did == providers.Created || did == providers.Updated {
			t := metav1.NewTime(now)
			row.LastPush = &t
			res.Pushed++
			r.event(ctx, pushRef(ps.ID()), corev1.EventTypeNormal, "Pushed", fmt.Sprintf("%s %s in %s from Secret %s", did, remoteKey, e.Store, row.Secret))
		}
	}
	return errs
}

// pusher is the provider that writes to the store key names, for a
// PushSecret of namespace ns.
func (r *Reconciler) pusher(ctx context.Context, st *render.SecretStore, key desired.StoreKey, ns string) (providers.Pusher, error) {
	// A store that fails PushProblems is refused before any push; one that
	// left Git since is still missing here.
	if st == nil || !desired.Service(st).Pushes() {
		return nil, fmt.Errorf("%s is not a SecretsManager store in the rendered manifests", key)
	}
	p, err := r.provider(ctx, st, ns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pusher, ok := p.(providers.Pusher)
	if !ok {
		return nil, fmt.Errorf("%s cannot be written to", key)
	}
	return pusher, nil
}

// pushPrune deletes, under deletionPolicy Delete, the remote secrets of
// rows no PushSecret in Git pushes any more, behind the guards of Secret
// prune (inventory.PruneGuard: an unreadable record, a render with errors,
// a revision with no PushSecret while the inventory holds pushes, the
// budget). It returns the rows to keep: those
// it was refused or failed to delete. A remote secret some current row
// still pushes to is never deleted.
func (r *Reconciler) pushPrune(ctx context.Context, set *render.Set, stores map[desired.StoreKey]*render.SecretStore, old []inventory.PushRow, unreadable bool, current []inventory.PushRow, res *Result) []inventory.PushRow {
	now := map[string]bool{}
	inUse := map[string]bool{}
	for _, row := range current {
		now[row.Key()] = true
		inUse[row.Remote()] = true
	}
	var candidates []inventory.PushRow
	for _, row := range old {
		// LastPush nil: secretsync never wrote it (IfNotExists found it, or
		// every push failed), so it is not ours to delete.
		if !now[row.Key()] && row.Delete && row.LastPush != nil && !inUse[row.Remote()] {
			candidates = append(candidates, row)
		}
	}
	verdict := r.pruneGuard(inventory.Prune{Noun: "PushSecret", Unreadable: unreadable,
		RenderErrors: len(set.Errors), Candidates: len(candidates), Recorded: len(old), Rendered: len(set.PushSecrets)})
	if !verdict.Allowed() {
		if verdict.Failure {
			res.fail(PruneFailed, fmt.Errorf("remote delete refused: %s", verdict.Reason))
		}
		if res.PruneSkipped == "" {
			res.PruneSkipped = verdict.Reason
		}
		for _, row := range candidates {
			res.PruneRefused = append(res.PruneRefused, "remote "+row.Store+" "+row.RemoteKey)
		}
		return candidates
	}
	var keep []inventory.PushRow
	deleted := map[string]bool{}
	for _, row := range candidates {
		if deleted[row.Remote()] {
			continue
		}
		ns, _, _ := strings.Cut(row.PushSecret, "/")
		key := storeKeyOfString(row.Store)
		pusher, err := r.pusher(ctx, stores[key], key, ns)
		if err == nil {
			remoteKey := pusher.(providers.Provider).Canonical(providers.Ref{Key: row.RemoteKey}).Key
			var gone bool
			gone, err = pusher.DeleteRemote(ctx, remoteKey)
			if err == nil {
				deleted[row.Remote()] = true
				if !gone {
					res.PushDeleted++
					r.event(ctx, pushRef(row.PushSecret), corev1.EventTypeNormal, "PushDeleted", fmt.Sprintf("deleted %s in %s: PushSecret %s (deletionPolicy Delete) no longer pushes it", remoteKey, row.Store, row.PushSecret))
				}
				continue
			}
			if providers.ClassOf(err) == providers.NotManaged {
				// Never ours to delete: reported once, then forgotten.
				res.fail(PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s refused: %w", row.RemoteKey, row.Store, row.PushSecret, err))
				continue
			}
		}
		res.fail(PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s: %w", row.RemoteKey, row.Store, row.PushSecret, err))
		keep = append(keep, row)
	}
	return keep
}

// storeKeyOfString reads back StoreKey.String.
func storeKeyOfString(s string) desired.StoreKey {
	parts := strings.Split(s, "/")
	if len(parts) == 2 {
		return desired.StoreKeyOf(parts[0], "", parts[1])
	}
	if len(parts) == 3 {
		return desired.StoreKeyOf(parts[0], parts[1], parts[2])
	}
	return desired.StoreKey{}
}
