package pushsecret

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
)

// pushOf is the write of entry e to the remote secret key (canonical).
func (r *run) pushOf(ps *render.PushSecret, e desired.PushEntry, key string, policies map[awsservice.PolicySource]string) providers.Push {
	p := providers.Push{Key: key, Property: e.Property, Value: e.Value.Bytes(), Replace: r.replaced(ps.Namespace, e, key),
		IfNotExists: ps.Updates() == render.PushIfNotExists, Metadata: e.Metadata, ResourcePolicy: r.policyOf(e, policies)}
	if slices.Contains(p.Replace, "") {
		p.Keep = r.claims[claimKey(ps.Namespace, r.entryKey(e))]
	}
	return p
}

// replaced are the paths on e's way in the remote secret key ("" the
// whole secret, "db" for db.user) that a recorded push of namespace ns
// wrote: with its entry gone from Git (two PushSecrets never nest in one
// remote secret: desired.SharedRemotes), e's push replaces what it wrote
// there, and prune takes nothing out for it (pruneVerdict).
func (r *run) replaced(ns string, e desired.PushEntry, key string) []string {
	var out []string
	for _, row := range r.Old {
		if row.RemoteName == key && row.LastPush != nil && row.Property != e.Property &&
			desired.Identity(r.stores, storeKeyOfString(row.Store)) == desired.Identity(r.stores, e.Store) &&
			strings.HasPrefix(row.PushSecret, ns+"/") && desired.PropertyHolds(row.Property, e.Property) {
			out = append(out, row.Property)
		}
	}
	return out
}

// Diff is what Push would do with in, writing nothing: the same steps
// (decideAll, with the Pusher's state: a PushSecret backing off is left, one
// vouched for and not due is kept, neither asks AWS), each push step's
// entries as their provider would decide them (WouldPush: read calls only,
// the same compare-before-write as Push), and the deletions under the same
// guard (pruneVerdict), each remote secret's ownership read without its
// value (Owner), as DeleteRemote reads it. It returns one Action per remote
// secret, keep included, and the errors that left some undecided; reasons
// and names go through in.Redactor. Diff does not touch the Pusher's state.
func (p *Pusher) Diff(ctx context.Context, in Pass) ([]Action, []error) {
	r := &run{Pusher: p, Pass: in, stores: desired.IndexStores(in.Set)}
	steps := r.decideAll(ctx)
	r.claims = r.claimsOf(steps)
	var out []Action
	var errs []error
	var current []inventory.PushRow // the rows Push would leave, for pruneVerdict
	// Remote secrets an earlier entry creates (another property of it, of
	// this PushSecret or another): Push's later ones find it.
	created := map[string]bool{}
	for i, ps := range in.Set.PushSecrets {
		s := steps[i]
		actions := s.actions(ps.ID())
		if s.kind != push {
			current = append(current, s.rows...)
			out = append(out, actions...)
			continue
		}
		// The rows as Push leaves them once it pushed, each with the name
		// Push records (recordedName), for pruneVerdict.
		rows := slices.Clone(s.rows)
		for j, e := range s.entries {
			a, name, err := r.wouldPush(ctx, ps, e, actions[j], s.policies)
			pushes := err == nil && a.Kind != Refused
			rows[j].RemoteName = recordedName(s.last[rows[j].Key()].RemoteName, name, pushes)
			if err != nil {
				errs = append(errs, r.Redactor.Error(fmt.Errorf("PushSecret %s (%s): %w", ps.ID(), ps.Source, err)))
				continue
			}
			if w := r.written(rows[j]); a.Kind == Create && w != "" {
				if created[w] {
					a = resolved(actions[j], existing(ps), nil)
				}
				created[w] = true
			}
			out = append(out, a)
		}
		current = append(current, rows...)
	}
	dels, delErrs := r.wouldPrune(ctx, current)
	out = append(out, dels...)
	for i := range out {
		out[i] = r.redact(out[i])
	}
	for _, err := range delErrs {
		errs = append(errs, r.Redactor.Error(err))
	}
	return out, errs
}

// wouldPush is entry e's action a once its store's provider says what Push
// would do (WouldPush), resolved as Push's answer is, and the name the push
// writes ("" when the store's provider cannot be had); an error other than
// a refusal (not ours, scheduled for deletion, bad metadata) is returned.
func (r *run) wouldPush(ctx context.Context, ps *render.PushSecret, e desired.PushEntry, a Action, policies map[awsservice.PolicySource]string) (Action, string, error) {
	pusher, err := r.pusher(ctx, r.stores[e.Store], e.Store, ps.Namespace)
	if err != nil {
		return a, "", err
	}
	key := pusher.(providers.Provider).Canonical(providers.Ref{Key: e.RemoteKey}).Key
	would, ok := pusher.(providers.WouldPusher)
	if !ok {
		return a, key, fmt.Errorf("%s cannot say what a push would do", e.Store)
	}
	did, err := would.WouldPush(ctx, r.pushOf(ps, e, key, policies))
	if a = resolved(a, did, err); a.Kind == Failed {
		return a, key, fmt.Errorf("push %s to %s: %w", e.Field, e.Store, err)
	}
	return a, key, nil
}

// existing is what Push answers for an entry of ps whose remote secret an
// earlier entry of the same push created (another property of it): a new
// version with this one added, or, under IfNotExists, left as it is.
func existing(ps *render.PushSecret) providers.Pushed {
	if ps.Updates() == render.PushIfNotExists {
		return providers.Exists
	}
	return providers.Updated
}

// wouldPrune is the deletions Push's prune would make after rows current,
// decided as prune decides them and made into Actions the same way
// (deletion.actions): under the guard's verdict (pruneVerdict), grouped as
// prune groups them (deletions); a row whose store left Git, or that does
// not know the name its push wrote, refused; then each remote secret read
// as the deletion reads it (wouldDelete): nothing to do (gone already, or
// none of its properties left), not ours (refused, as DeleteRemote refuses
// it), or deleted (whole, or one Action per property taken out).
func (r *run) wouldPrune(ctx context.Context, current []inventory.PushRow) ([]Action, []error) {
	candidates, _, verdict := r.pruneVerdict(current)
	var out []Action
	var errs []error
	for _, d := range deletions(candidates) {
		row := d.rows[0]
		err := r.refusalOf(d, verdict)
		if err == nil {
			did, rerr := r.wouldDelete(ctx, d)
			switch {
			case providers.ClassOf(rerr) == providers.NotManaged:
				err = rerr
			case rerr != nil:
				errs = append(errs, fmt.Errorf("remote delete of %s in %s for PushSecret %s: %w", row.RemoteKey, row.Store, row.PushSecret, rerr))
				continue
			case did == providers.UnsetNothing:
				continue
			}
		}
		out = append(out, d.actions(err)...)
	}
	return out, errs
}

// wouldDelete is what deleteRemote would do for d, by the name its rows'
// push wrote, read without writing: UnsetNothing (gone already, or none of
// d's properties there), or the deletion; a remote secret not ours is a
// NotManaged error. The whole secret is read without its value (Owner).
func (r *run) wouldDelete(ctx context.Context, d deletion) (providers.Unset, error) {
	row := d.rows[0]
	ns, _, _ := strings.Cut(row.PushSecret, "/")
	key := storeKeyOfString(row.Store)
	pusher, err := r.pusher(ctx, r.stores[key], key, ns)
	if err != nil {
		return "", err
	}
	if d.props != nil {
		unset, ok := pusher.(providers.PropertyDeleter)
		if !ok {
			return "", fmt.Errorf("%s cannot take a property out of a remote secret", row.Store)
		}
		return unset.WouldDeleteProperties(ctx, row.RemoteName, d.props)
	}
	owner, ok := pusher.(providers.Owner)
	if !ok {
		return "", fmt.Errorf("%s cannot say who owns %s", row.Store, row.RemoteKey)
	}
	remote, err := owner.Owner(ctx, row.RemoteName)
	switch {
	case err != nil:
		return "", err
	case !remote.Exists || remote.Deleting:
		return providers.UnsetNothing, nil
	case !remote.Ours:
		return "", &providers.Error{Class: providers.NotManaged}
	}
	return providers.UnsetDeleted, nil
}
