package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
)

// reasonStoreGone is the reason of a row whose deletion waits for its
// store, which left Git (with its PushSecret, say).
const reasonStoreGone = "StoreMissing"

// Deletions prune refuses, with the reason run and Diff both give.
var (
	// errUnnamed refuses the deletion of a row recorded before rows kept
	// the name their push wrote: the name is never guessed from the store
	// as it is now, whose prefix may have moved to another team's secrets.
	errUnnamed error = refusal("its row was recorded before secretsync kept the name each push writes, and that name is never guessed from the store as it is now; the remote secret is left as it is (delete it by hand if it should go)")
	// errStoreGone is a deletion whose store left Git: its rows wait.
	errStoreGone error = refusal("the store is not in the rendered manifests, so nothing can delete through it; the row waits for it")
)

// prune deletes, under deletionPolicy Delete, what rows no PushSecret in Git
// pushes any more wrote, behind the guards of Secret prune
// (inventory.PruneGuard: an unreadable record, a render with errors, a
// revision with no PushSecret while the inventory holds pushes, the
// budget): the remote secret a row's push wrote (RemoteName), or, for rows
// that pushed properties, those properties (a secret left with none is
// deleted). It returns the rows to keep: those it was refused or failed to
// delete, those whose store left Git (they wait for it, reported once
// and not as a failure, so that they do not make every poll a full pass),
// and those a current row claims but has not written yet (pruneVerdict).
// It records in out.Actions the action of every deletion it takes or
// refuses (deletion.actions), as Diff's wouldPrune announces them.
func (r *run) prune(ctx context.Context, current []inventory.PushRow, out *Outcome) []inventory.PushRow {
	candidates, waits, verdict := r.pruneVerdict(current)
	keep := waits
	if !verdict.Allowed() {
		if verdict.Failure {
			out.PruneFailed = append(out.PruneFailed, fmt.Errorf("remote delete refused: %s", verdict.Reason))
		}
		out.PruneSkipped = verdict.Reason
		for _, row := range candidates {
			out.PruneRefused = append(out.PruneRefused, "remote "+row.Store+" "+row.RemoteKey)
		}
		for _, d := range deletions(candidates) {
			out.Actions = append(out.Actions, d.actions(r.refusalOf(d, verdict))...)
		}
		return append(keep, candidates...)
	}
	for _, d := range deletions(candidates) {
		row := d.rows[0]
		err, gone := r.refusalOf(d, verdict), false
		switch {
		case errors.Is(err, errStoreGone):
			out.Actions = append(out.Actions, d.actions(err)...)
			keep = append(keep, r.waitForStore(ctx, d.rows)...)
			continue
		case err == nil:
			gone, err = r.deleteRemote(ctx, d, out)
		}
		if !gone {
			out.Actions = append(out.Actions, d.actions(err)...)
		}
		switch {
		case err == nil:
		case errors.Is(err, errUnnamed) || providers.ClassOf(err) == providers.NotManaged:
			// Never to be deleted by name: reported once, then forgotten.
			out.PruneFailed = append(out.PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s refused: %w", row.RemoteKey, row.Store, row.PushSecret, err))
		default:
			out.PruneFailed = append(out.PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s: %w", row.RemoteKey, row.Store, row.PushSecret, err))
			keep = append(keep, d.rows...)
		}
	}
	return keep
}

// deletion is one remote secret a prune deletes, or takes properties out of.
type deletion struct {
	rows []inventory.PushRow // the candidate rows that wrote it
	// props are the properties to remove; nil deletes the whole secret (a
	// row pushed it whole).
	props []string
}

// deletions groups candidates by the remote secret they wrote; a row that
// does not know its name stands alone (deleteRemote refuses it).
func deletions(candidates []inventory.PushRow) []deletion {
	var out []deletion
	at := map[string]int{}
	for _, row := range candidates {
		k := row.Written()
		if k == "" {
			k = "\x01" + row.Key()
		}
		i, ok := at[k]
		if !ok {
			i, at[k] = len(out), len(out)
			out = append(out, deletion{})
		}
		out[i].rows = append(out[i].rows, row)
	}
	for i := range out {
		var props []string
		for _, row := range out[i].rows {
			if row.Property == "" {
				props = nil
				break
			}
			if !slices.Contains(props, row.Property) {
				props = append(props, row.Property)
			}
		}
		out[i].props = props
	}
	return out
}

// actions are d's Actions once its deletion ended in err (run) or would
// (Diff), as deleteAction makes them: one for a whole secret (no
// property), or one per row when properties are taken out.
func (d deletion) actions(err error) []Action {
	if d.props == nil {
		row := d.rows[0]
		row.Property = ""
		return []Action{deleteAction(row, err)}
	}
	out := make([]Action, len(d.rows))
	for i, row := range d.rows {
		out[i] = deleteAction(row, err)
	}
	return out
}

// storeGone reports whether row's store is not in the rendered manifests
// as a store secretsync pushes to: nothing can delete through it.
func (r *run) storeGone(row inventory.PushRow) bool {
	st := r.stores[storeKeyOfString(row.Store)]
	return st == nil || !desired.Service(st).Pushes()
}

// waitForStore is rows kept for a store that left Git: not ready, saying
// so, with a Warning Event for each the first time (the record keeps the
// reason, so a restart does not repeat it). Their remote secrets are left
// as they are; the rows are deleted by the first pass that has the store
// again.
func (r *run) waitForStore(ctx context.Context, rows []inventory.PushRow) []inventory.PushRow {
	out := make([]inventory.PushRow, len(rows))
	for i, row := range rows {
		msg := fmt.Sprintf("deletionPolicy Delete: %s in %s waits: the store is not in the rendered manifests, so nothing can delete through it; the remote secret is left as it is until the store is back in Git", row.RemoteKey, row.Store)
		if row.Reason != reasonStoreGone {
			r.cfg.Events(ctx, eventRef(row.PushSecret), corev1.EventTypeWarning, "PushDeleteWaiting", msg)
		}
		row.Ready, row.Reason, row.Message = false, reasonStoreGone, msg
		out[i] = row
	}
	return out
}

// refusalOf is why the pass deletes nothing for d before it asks AWS
// (prune and Diff's wouldPrune both ask it): the guard's verdict v, a
// store that left Git (its rows wait for it), or a row that does not know
// the name its push wrote (never deleted by a guess); nil when it may ask.
func (r *run) refusalOf(d deletion, v inventory.Verdict) error {
	switch {
	case !v.Allowed():
		return refusal(v.Reason)
	case r.storeGone(d.rows[0]):
		return errStoreGone
	case d.rows[0].RemoteName == "":
		return errUnnamed
	}
	return nil
}

// deleteRemote deletes what d's rows wrote, by the name their push wrote,
// through the store they record: the whole remote secret, or d.props of it.
// Unless nothing was there any more (gone), it counts one deletion and says
// so in an Event for each PushSecret.
func (r *run) deleteRemote(ctx context.Context, d deletion, out *Outcome) (gone bool, err error) {
	row := d.rows[0]
	ns, _, _ := strings.Cut(row.PushSecret, "/")
	key := storeKeyOfString(row.Store)
	pusher, err := r.pusher(ctx, r.stores[key], key, ns)
	if err != nil {
		return false, err
	}
	var what string
	if d.props == nil {
		if gone, err = pusher.DeleteRemote(ctx, row.RemoteName); err != nil || gone {
			return gone, err
		}
		what = "deleted " + row.RemoteName
	} else {
		unset, ok := pusher.(providers.PropertyDeleter)
		if !ok {
			return false, fmt.Errorf("%s cannot take a property out of a remote secret", row.Store)
		}
		did, err := unset.DeleteProperties(ctx, row.RemoteName, d.props)
		switch {
		case err != nil || did == providers.UnsetNothing:
			return err == nil, err
		case did == providers.UnsetDeleted:
			what = fmt.Sprintf("deleted %s (its last properties %s)", row.RemoteName, strings.Join(d.props, ", "))
		default:
			what = fmt.Sprintf("removed properties %s of %s", strings.Join(d.props, ", "), row.RemoteName)
		}
	}
	out.Deleted++
	var told []string
	for _, row := range d.rows {
		if !slices.Contains(told, row.PushSecret) {
			told = append(told, row.PushSecret)
			r.cfg.Events(ctx, eventRef(row.PushSecret), corev1.EventTypeNormal, "PushDeleted",
				fmt.Sprintf("%s in %s: PushSecret %s (deletionPolicy Delete) no longer pushes it", what, row.Store, row.PushSecret))
		}
	}
	return false, nil
}

// pruneVerdict is the rows of the record whose remote secrets (or
// properties) the pass deletes after rows current (Diff asks it too), the
// rows that wait (kept as they are, neither deleted nor forgotten), and the
// guard's verdict, which counts neither the rows that wait for their store
// nor the others when only those are left.
//
// A row leaving Git whose remote secret a current row still writes, at the
// same property, one nested in it or one it nests in ("" the whole
// secret), is never deleted: it is forgotten once that row wrote it
// (ready, with a push on record: its push replaced what the old one wrote,
// providers.Push.Replace), and waits while that row has not (failed,
// refused, IfNotExists left it), so that a later push still replaces it
// and, should the new row leave Git first, it is deleted then.
func (r *run) pruneVerdict(current []inventory.PushRow) (candidates, waits []inventory.PushRow, verdict inventory.Verdict) {
	now := map[string][]string{} // Key -> the names current rows wrote
	named, unnamed, all := writers{}, writers{}, writers{}
	for _, row := range current {
		now[row.Key()] = append(now[row.Key()], row.RemoteName)
		wrote := row.Ready && row.LastPush != nil
		all.add(row.Remote(), row.Property, wrote)
		if w := r.written(row); w != "" {
			named.add(w, row.Property, wrote)
		} else {
			unnamed.add(row.Remote(), row.Property, wrote)
		}
	}
	// A PushSecret still in Git deletes under the policy it has now (as
	// ESO): one set to None in the commit that moves a key leaves the old.
	policy := map[string]bool{}
	for _, ps := range r.Set.PushSecrets {
		policy[ps.ID()] = ps.Deletes()
	}
	deletable := 0
	for _, row := range r.Old {
		deletes, inGit := policy[row.PushSecret]
		// LastPush nil: secretsync never wrote it (IfNotExists found it, or
		// every push failed), so it is not ours to delete.
		if !row.Delete || !(deletes || !inGit) || row.LastPush == nil || pushedNow(row, now[row.Key()]) {
			continue
		}
		var use []writer
		if w := r.written(row); w != "" {
			use = []writer{named[w], unnamed[row.Remote()]}
		} else {
			use = []writer{all[row.Remote()]}
		}
		switch stillWritten(use, row.Property) {
		case written:
			continue
		case claimed:
			waits = append(waits, row)
			continue
		}
		candidates = append(candidates, row)
		if !r.storeGone(row) {
			deletable++
		}
	}
	verdict = r.cfg.Guard(inventory.Prune{Noun: "PushSecret", Unreadable: r.Unreadable,
		RenderErrors: len(r.Set.Errors), Candidates: deletable, Recorded: len(r.Old), Rendered: len(r.Set.PushSecrets)})
	return candidates, waits, verdict
}

// written is the AWS secret row's push wrote, as pruneVerdict compares
// rows: its store's Identity (two stores of one identity whose prefixes
// meet reach one secret) and the name it wrote; "" when the row does not
// know the name.
func (r *run) written(row inventory.PushRow) string {
	if row.RemoteName == "" {
		return ""
	}
	return desired.Identity(r.stores, storeKeyOfString(row.Store)) + "\x00" + row.RemoteName
}

// writer is what current rows write of one remote secret: each property
// ("" the whole secret), true once one of those rows wrote it.
type writer map[string]bool

// writers is what current rows write, by remote secret.
type writers map[string]writer

func (w writers) add(remote, property string, wrote bool) {
	if w[remote] == nil {
		w[remote] = writer{}
	}
	w[remote][property] = w[remote][property] || wrote
}

// The answers of stillWritten.
const (
	unclaimed = iota // no current row writes it
	claimed          // a current row writes it, and has not yet
	written          // a current row wrote it
)

// stillWritten is whether current rows (use) write property of a remote
// secret, or one nested in it or that it nests in, and whether one did.
func stillWritten(use []writer, property string) int {
	out := unclaimed
	for _, props := range use {
		for p, wrote := range props {
			if !desired.PropertyHolds(p, property) && !desired.PropertyHolds(property, p) {
				continue
			}
			if wrote {
				return written
			}
			out = claimed
		}
	}
	return out
}

// pushedNow reports whether a current row of the same key still writes
// what old wrote: the same name, or a name one of them does not know.
func pushedNow(old inventory.PushRow, names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return n == "" || old.RemoteName == "" || n == old.RemoteName })
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
