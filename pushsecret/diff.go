package pushsecret

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Action is what a pass does, or would do, to one remote secret a
// PushSecret writes: names only, never a value.
type Action struct {
	Kind       ActionKind `json:"action"`
	PushSecret string     `json:"pushSecret"` // namespace/name
	Store      string     `json:"store,omitempty"`
	RemoteKey  string     `json:"remoteKey,omitempty"`
	Property   string     `json:"property,omitempty"`
	// Would is what a refused action would have done (push, delete), and
	// Reason why the pass refuses it; for an update, what differs.
	Would  string `json:"would,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ActionKind is the kind of an Action.
type ActionKind string

// The actions on a remote secret.
const (
	Create  ActionKind = "create"  // it does not exist
	Update  ActionKind = "update"  // a new version (its value differs), or its tags
	Keep    ActionKind = "keep"    // it holds what the push writes
	Refused ActionKind = "refused" // a push or delete the pass refuses, with the reason
	Delete  ActionKind = "delete"  // deletionPolicy Delete, what pushed it left Git
)

// Refused actions' Would.
const (
	wouldPush   = "push"
	wouldDelete = "delete"
)

// planAll plans every PushSecret of the pass (plan), then refuses those
// that push to a remote secret PushSecrets of another namespace push to:
// the decisions Push executes and Diff prints.
func (r *run) planAll(ctx context.Context, oldBy map[string][]inventory.PushRow) []pushPlan {
	pss := r.Set.PushSecrets
	nsLabels := cluster.NamespaceLabels(ctx, r.cfg.Kube)
	gens := desired.IndexGenerators(r.Set)
	plans := make([]pushPlan, len(pss))
	r.each(len(pss), func(i int) { plans[i] = r.plan(ctx, pss[i], gens, nsLabels, oldBy[pss[i].ID()]) })
	planOf := make(map[string]*pushPlan, len(pss))
	for i, ps := range pss {
		planOf[ps.ID()] = &plans[i]
	}
	shared := desired.SharedRemotes(pss, func(ps *render.PushSecret) []desired.PushRemote {
		if pl := planOf[ps.ID()]; pl.err == nil && !pl.kept && !pl.waits { // else Git names them
			return remotesOf(pl.entries)
		}
		return desired.StaticRemotes(ps, r.stores)
	})
	for i, ps := range pss {
		if shared[ps.ID()] != nil && plans[i].err == nil {
			plans[i].err = *shared[ps.ID()]
		}
	}
	return plans
}

// pushOf is the write of entry e to the remote secret key (canonical).
func pushOf(ps *render.PushSecret, e desired.PushEntry, key string) providers.Push {
	return providers.Push{Key: key, Property: e.Property, Value: e.Value.Bytes(),
		IfNotExists: ps.Updates() == render.PushIfNotExists, Metadata: e.Metadata}
}

// Diff is what Push would do with in, writing nothing: the same plans
// (planAll), each entry's write as its provider would decide it
// (WouldPush: read calls only, no new version), and the deletions under
// the same guard (pruneVerdict), each remote secret's ownership read
// without its value (Owner). It returns one Action per remote secret, keep
// included, and the errors that left some undecided; reasons and names go
// through in.Redactor. Diff does not touch the Pusher's state.
func (p *Pusher) Diff(ctx context.Context, in Pass) ([]Action, []error) {
	r := &run{Pusher: p, Pass: in, stores: desired.IndexStores(in.Set)}
	oldBy := map[string][]inventory.PushRow{}
	for _, row := range in.Old {
		oldBy[row.PushSecret] = append(oldBy[row.PushSecret], row)
	}
	plans := r.planAll(ctx, oldBy)
	var out []Action
	var errs []error
	var current []inventory.PushRow // the rows Push would leave, for pruneVerdict
	for i, ps := range in.Set.PushSecrets {
		pl, old := &plans[i], oldBy[ps.ID()]
		switch {
		case pl.err != nil:
			rows := failedRows(ps, r.stores, old)
			current = append(current, rows...)
			for _, row := range rows {
				out = append(out, Action{Kind: Refused, PushSecret: ps.ID(), Store: row.Store, RemoteKey: row.RemoteKey, Property: row.Property,
					Would: wouldPush, Reason: pl.err.Error()})
			}
		case pl.kept:
			current = append(current, old...)
			for _, row := range old {
				out = append(out, Action{Kind: Keep, PushSecret: ps.ID(), Store: row.Store, RemoteKey: row.RemoteKey, Property: row.Property})
			}
		default:
			for _, e := range pl.entries {
				current = append(current, inventory.PushRow{PushSecret: ps.ID(), Store: e.Store.String(), RemoteKey: e.RemoteKey, Property: e.Property,
					RemoteName: r.remoteNameOf(ctx, ps, e)})
				a, err := r.wouldPush(ctx, ps, e)
				if err != nil {
					errs = append(errs, r.Redactor.Error(fmt.Errorf("PushSecret %s (%s): %w", ps.ID(), ps.Source, err)))
					continue
				}
				out = append(out, a)
			}
		}
	}
	dels, delErrs := r.wouldPrune(ctx, current)
	out = append(out, dels...)
	for i := range out {
		out[i].RemoteKey, out[i].Reason = r.Redactor.String(out[i].RemoteKey), r.Redactor.String(out[i].Reason)
	}
	for _, err := range delErrs {
		errs = append(errs, r.Redactor.Error(err))
	}
	return out, errs
}

// wouldPush is entry e's Action: what its store's provider would do
// (WouldPush), a refusal it gives (not ours, scheduled for deletion, bad
// metadata), or, under updatePolicy IfNotExists, a remote secret that
// exists: kept when ours, refused when not. Other errors are returned.
func (r *run) wouldPush(ctx context.Context, ps *render.PushSecret, e desired.PushEntry) (Action, error) {
	a := Action{PushSecret: ps.ID(), Store: e.Store.String(), RemoteKey: e.RemoteKey, Property: e.Property}
	pusher, err := r.pusher(ctx, r.stores[e.Store], e.Store, ps.Namespace)
	if err != nil {
		return a, err
	}
	would, ok := pusher.(providers.WouldPusher)
	if !ok {
		return a, fmt.Errorf("%s cannot say what a push would do", e.Store)
	}
	key := pusher.(providers.Provider).Canonical(providers.Ref{Key: e.RemoteKey}).Key
	did, err := would.WouldPush(ctx, pushOf(ps, e, key))
	switch c := providers.ClassOf(err); {
	case err != nil && (c == providers.NotManaged || c == providers.Invalid):
		a.Kind, a.Would, a.Reason = Refused, wouldPush, err.Error()
		return a, nil
	case err != nil:
		return a, fmt.Errorf("push %s to %s: %w", e.Field, e.Store, err)
	}
	switch did {
	case providers.Created:
		a.Kind = Create
	case providers.Updated:
		a.Kind, a.Reason = Update, "value"
	case providers.Retagged:
		a.Kind, a.Reason = Update, "tags"
	case providers.Exists:
		owner, ok := pusher.(providers.Owner)
		if !ok {
			return a, fmt.Errorf("%s cannot say who owns %s", e.Store, e.RemoteKey)
		}
		remote, err := owner.Owner(ctx, key)
		if err != nil {
			return a, err
		}
		a.Kind = Keep
		if !remote.Ours {
			a.Kind, a.Would, a.Reason = Refused, wouldPush, "exists without the tag "+providers.ManagedByTag+"="+providers.ManagedByValue+"; updatePolicy IfNotExists leaves it as it is"
		}
	default:
		a.Kind = Keep
	}
	return a, nil
}

// wouldPrune is the deletions Push's prune would make after rows current:
// under the guard's verdict (pruneVerdict), grouped as prune groups them
// (deletions), each remote secret read by Owner: gone already (nothing to
// do), not ours (refused, as DeleteRemote refuses it), or deleted (whole,
// or one Action per property taken out). A row whose store left Git, or
// that does not know the name its push wrote, is refused as prune refuses
// it.
func (r *run) wouldPrune(ctx context.Context, current []inventory.PushRow) ([]Action, []error) {
	candidates, verdict := r.pruneVerdict(current)
	var out []Action
	var errs []error
	for _, d := range deletions(candidates) {
		row := d.rows[0]
		acts := []Action{{Kind: Delete, PushSecret: row.PushSecret, Store: row.Store, RemoteKey: row.RemoteKey}}
		if d.props != nil {
			acts = acts[:0]
			for _, p := range d.rows {
				acts = append(acts, Action{Kind: Delete, PushSecret: p.PushSecret, Store: p.Store, RemoteKey: p.RemoteKey, Property: p.Property})
			}
		}
		reason := ""
		switch {
		case !verdict.Allowed():
			reason = verdict.Reason
		case r.storeGone(row):
			reason = "the store is not in the rendered manifests, so nothing can delete through it; the row waits for it"
		case row.RemoteName == "":
			reason = errUnnamed.Error()
		default:
			remote, err := r.owner(ctx, row)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("remote delete of %s in %s for PushSecret %s: %w", row.RemoteKey, row.Store, row.PushSecret, err))
				continue
			case !remote.Exists || remote.Deleting:
				continue // gone already: nothing to delete
			case !remote.Ours:
				reason = "exists without the tag " + providers.ManagedByTag + "=" + providers.ManagedByValue + ": it was not made by a push, so it is never deleted"
			}
		}
		for i := range acts {
			if reason != "" {
				acts[i].Kind, acts[i].Would, acts[i].Reason = Refused, wouldDelete, reason
			}
		}
		out = append(out, acts...)
	}
	return out, errs
}

// owner reads what AWS holds under row's remote secret, reading no value.
func (r *run) owner(ctx context.Context, row inventory.PushRow) (providers.Remote, error) {
	ns, _, _ := strings.Cut(row.PushSecret, "/")
	key := storeKeyOfString(row.Store)
	pusher, err := r.pusher(ctx, r.stores[key], key, ns)
	if err != nil {
		return providers.Remote{}, err
	}
	owner, ok := pusher.(providers.Owner)
	if !ok {
		return providers.Remote{}, fmt.Errorf("%s cannot say who owns %s", row.Store, row.RemoteKey)
	}
	return owner.Owner(ctx, row.RemoteName) // the name its push wrote, as prune deletes it
}
