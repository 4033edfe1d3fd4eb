package pushsecret

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
)

// prune deletes, under deletionPolicy Delete, the remote secrets of rows
// no PushSecret in Git pushes any more, behind the guards of Secret prune
// (inventory.PruneGuard: an unreadable record, a render with errors, a
// revision with no PushSecret while the inventory holds pushes, the
// budget). It returns the rows to keep: those it was refused or failed to
// delete. A remote secret some current row still pushes to is never
// deleted.
func (r *run) prune(ctx context.Context, current []inventory.PushRow, out *Outcome) []inventory.PushRow {
	candidates, verdict := r.pruneVerdict(current)
	if !verdict.Allowed() {
		if verdict.Failure {
			out.PruneFailed = append(out.PruneFailed, fmt.Errorf("remote delete refused: %s", verdict.Reason))
		}
		out.PruneSkipped = verdict.Reason
		for _, row := range candidates {
			out.PruneRefused = append(out.PruneRefused, "remote "+row.Store+" "+row.RemoteKey)
			out.Actions = append(out.Actions, deleteAction(row, guardRefusal(verdict.Reason)))
		}
		return candidates
	}
	var keep []inventory.PushRow
	deleted := map[string]bool{}
	for _, row := range candidates {
		if deleted[row.Remote()] {
			continue
		}
		gone, err := r.deleteRemote(ctx, row, out)
		if !gone {
			out.Actions = append(out.Actions, deleteAction(row, err))
		}
		switch {
		case err == nil:
			deleted[row.Remote()] = true
		case providers.ClassOf(err) == providers.NotManaged:
			// Never ours to delete: reported once, then forgotten.
			out.PruneFailed = append(out.PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s refused: %w", row.RemoteKey, row.Store, row.PushSecret, err))
		default:
			out.PruneFailed = append(out.PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s: %w", row.RemoteKey, row.Store, row.PushSecret, err))
			keep = append(keep, row)
		}
	}
	return keep
}

// deleteRemote deletes row's remote secret and, unless it was gone
// already (gone), counts it and says so in an Event.
func (r *run) deleteRemote(ctx context.Context, row inventory.PushRow, out *Outcome) (gone bool, err error) {
	ns, _, _ := strings.Cut(row.PushSecret, "/")
	key := storeKeyOfString(row.Store)
	pusher, err := r.pusher(ctx, r.stores[key], key, ns)
	if err != nil {
		return false, err
	}
	remoteKey := pusher.(providers.Provider).Canonical(providers.Ref{Key: row.RemoteKey}).Key
	if gone, err = pusher.DeleteRemote(ctx, remoteKey); err != nil || gone {
		return gone, err
	}
	out.Deleted++
	r.cfg.Events(ctx, eventRef(row.PushSecret), corev1.EventTypeNormal, "PushDeleted",
		fmt.Sprintf("deleted %s in %s: PushSecret %s (deletionPolicy Delete) no longer pushes it", remoteKey, row.Store, row.PushSecret))
	return false, nil
}

// pruneVerdict is the rows of the record whose remote secrets the pass
// deletes after rows current (Diff asks it too), and the guard's verdict.
func (r *run) pruneVerdict(current []inventory.PushRow) ([]inventory.PushRow, inventory.Verdict) {
	now := map[string]bool{}
	inUse := map[string]bool{}
	for _, row := range current {
		now[row.Key()] = true
		inUse[row.Remote()] = true
	}
	// A PushSecret still in Git deletes under the policy it has now (as
	// ESO): one set to None in the commit that moves a key leaves the old.
	policy := map[string]bool{}
	for _, ps := range r.Set.PushSecrets {
		policy[ps.ID()] = ps.Deletes()
	}
	var candidates []inventory.PushRow
	for _, row := range r.Old {
		deletes, inGit := policy[row.PushSecret]
		// LastPush nil: secretsync never wrote it (IfNotExists found it, or
		// every push failed), so it is not ours to delete.
		if !now[row.Key()] && row.Delete && (deletes || !inGit) && row.LastPush != nil && !inUse[row.Remote()] {
			candidates = append(candidates, row)
		}
	}
	verdict := r.cfg.Guard(inventory.Prune{Noun: "PushSecret", Unreadable: r.Unreadable,
		RenderErrors: len(r.Set.Errors), Candidates: len(candidates), Recorded: len(r.Old), Rendered: len(r.Set.PushSecrets)})
	return candidates, verdict
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
