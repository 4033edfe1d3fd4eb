package pushsecret

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
)

// Action is what a pass does, or would do, to one remote secret a
// PushSecret writes: names only, never a value. Push returns the actions
// it took (Outcome.Actions), Diff those it would take: both come from the
// same decision (decide, then the provider's compare-before-write for a
// push, pruneVerdict for a delete).
type Action struct {
	Kind       ActionKind `json:"action"`
	PushSecret string     `json:"pushSecret"` // namespace/name
	Store      string     `json:"store,omitempty"`
	RemoteKey  string     `json:"remoteKey,omitempty"`
	Property   string     `json:"property,omitempty"`
	// Would is what a refused or failed action would have done (push,
	// delete), and Reason why the pass refuses it, why it leaves or keeps
	// it, or what failed.
	Would  string `json:"would,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ActionKind is the kind of an Action.
type ActionKind string

// The actions on a remote secret.
const (
	Create  ActionKind = "create"  // it does not exist
	Update  ActionKind = "update"  // a new version: its value differs
	Retag   ActionKind = "retag"   // the value the same, its tags or resource policy set to the metadata's
	Keep    ActionKind = "keep"    // it holds what the push writes, or it is not due to be compared
	Leave   ActionKind = "leave"   // left as it is: its PushSecret backs off after a failed push, or IfNotExists found it
	Refused ActionKind = "refused" // a push or delete the pass refuses, with the reason
	Delete  ActionKind = "delete"  // deletionPolicy Delete, what pushed it left Git
	// Failed is a push or delete AWS failed (run only: Diff reads, and
	// returns a failed read as an error).
	Failed ActionKind = "failed"
)

// push is a step's kind before its provider answers: the provider's
// compare-before-write makes it Create, Update, Retag or Keep.
const push ActionKind = "push"

// Refused and failed actions' Would.
const (
	wouldPush   = "push"
	wouldDelete = "delete"
)

// Reasons the decision gives, the same in run and Diff.
const (
	reasonExists  = "exists; updatePolicy IfNotExists leaves it as it is"
	reasonNotOurs = "exists without the tag " + providers.ManagedByTag + "=" + providers.ManagedByValue + ": it was not made by a push, so it is never deleted"
)

// step is what a pass does with one PushSecret, decided by decide from
// what was read (its plan, its state, its rows) with no client in reach:
// its kind, the rows the record holds after it and its state for the next
// pass. Only a push step calls a provider: run pushes its entries, Diff
// asks what they would do.
type step struct {
	kind ActionKind // Refused, Leave, Keep, or push
	// reason is the actions' reason: a refusal's error, a backoff's.
	reason string
	rows   []inventory.PushRow
	state  *state
	// err is what the pass reports of a refused or backing-off one.
	err    error
	events []event
	// A push's entries, in rows' order, and the old rows by key.
	entries  []desired.PushEntry
	last     map[string]inventory.PushRow
	policies map[awsservice.PolicySource]string
}

// decide is what the pass does with ps, planned as pl, given its state
// prev and its rows old, at now: refused (pl failed: rows kept, backoff
// counted), leave (it backs off: rows and error as its last failure left
// them), keep (generated values not due, or the remote secrets vouched for
// and not due: no call), else push its entries. Errors go through red.
func decide(ps *render.PushSecret, pl *pushPlan, prev *state, old []inventory.PushRow,
	stores map[desired.StoreKey]*render.SecretStore, red *scrub.Redactor, now time.Time) step {
	id := ps.ID()
	next := state{synced: pl.synced, interval: intervalOf(ps), versions: pl.versions}
	if pl.sourced {
		next.ps = ps
	}
	if pl.err != nil {
		err := red.Error(fmt.Errorf("PushSecret %s (%s): %w", id, ps.Source, pl.err))
		s := step{kind: Refused, reason: pl.err.Error(), err: err}
		if prev.waiting(pl.synced, now) && prev.err.Error() == err.Error() {
			s.rows, s.state = old, prev.held(ps)
			return s
		}
		s.rows = failedRows(ps, stores, old)
		for i := range s.rows {
			s.rows[i].Ready, s.rows[i].Reason, s.rows[i].Message = false, reasonFailed, err.Error()
		}
		s.state = prev.failed(next, err, now)
		s.events = []event{{id, corev1.EventTypeWarning, "PushFailed", err.Error()}}
		return s
	}
	if pl.waits || prev.waiting(pl.synced, now) {
		return step{kind: Leave, rows: old, state: prev.held(ps), err: prev.err,
			reason: fmt.Sprintf("retried at %s, after %d failed push(es) in a row", prev.retryAt.UTC().Format(time.RFC3339), prev.failures)}
	}
	if pl.kept { // generated values already in AWS, not due
		next.last = now
		return step{kind: Keep, rows: old, state: &next}
	}
	last := map[string]inventory.PushRow{}
	for _, o := range old {
		last[o.Key()] = o
	}
	rows := make([]inventory.PushRow, len(pl.entries))
	for i, e := range pl.entries {
		rows[i] = inventory.PushRow{PushSecret: id, Source: ps.Source, Secret: ps.Namespace + "/" + e.Source, Store: e.Store.String(),
			RemoteKey: e.RemoteKey, Property: e.Property, Delete: ps.Deletes(), Generator: pl.generator, Synced: pl.synced}
	}
	next.sum = pl.sum
	if at, ok := vouched(prev, pl, rows, last, next.interval, now); ok {
		for i := range rows {
			rows[i] = last[rows[i].Key()]
			rows[i].Synced = pl.synced // the same values: what changed is a version
		}
		next.last = at
		return step{kind: Keep, rows: rows, state: &next}
	}
	next.last = now
	return step{kind: push, rows: rows, state: &next, entries: pl.entries, last: last, policies: pl.policies}
}

// actions are s's actions on the remote secrets of its rows, for the
// PushSecret id; a push step's kind is its provider's to say (resolved).
func (s step) actions(id string) []Action {
	out := make([]Action, 0, len(s.rows))
	for _, row := range s.rows {
		a := Action{Kind: s.kind, PushSecret: id, Store: row.Store, RemoteKey: row.RemoteKey, Property: row.Property, Reason: s.reason}
		if s.kind == Refused {
			a.Would = wouldPush
		}
		out = append(out, a)
	}
	if len(out) == 0 && s.kind != push && s.kind != Keep {
		out = append(out, Action{Kind: s.kind, PushSecret: id, Reason: s.reason})
	}
	return out
}

// resolved is a push's Action once its store's provider said what it did
// (run) or would do (Diff): did, or the error it gave. A refusal (not
// ours, scheduled for deletion, bad metadata) is Refused in both; another
// error is Failed (run only: Diff returns it).
func resolved(a Action, did providers.Pushed, err error) Action {
	switch c := providers.ClassOf(err); {
	case err != nil && (c == providers.NotManaged || c == providers.Invalid):
		a.Kind, a.Would, a.Reason = Refused, wouldPush, err.Error()
		return a
	case err != nil:
		a.Kind, a.Would, a.Reason = Failed, wouldPush, err.Error()
		return a
	}
	switch did {
	case providers.Created:
		a.Kind = Create
	case providers.Updated:
		a.Kind = Update
	case providers.Retagged:
		a.Kind = Retag
	case providers.Exists:
		a.Kind, a.Reason = Leave, reasonExists
	default:
		a.Kind = Keep
	}
	return a
}

// refusal is a deletion prune refuses before asking AWS, with the reason:
// the guard's (inventory.Verdict's reason, for every deletion of a pass), a
// row that does not know its remote name (errUnnamed), a store that left
// Git (errStoreGone).
type refusal string

func (g refusal) Error() string { return string(g) }

// deleteAction is the Action of the deletion of row's remote secret (or
// its property) that ended in err (run) or would (Diff): deleted; refused
// (a refusal, or not ours); or failed.
func deleteAction(row inventory.PushRow, err error) Action {
	a := Action{Kind: Delete, PushSecret: row.PushSecret, Store: row.Store, RemoteKey: row.RemoteKey, Property: row.Property}
	var refused refusal
	switch {
	case err == nil:
		return a
	case errors.As(err, &refused):
		a.Kind, a.Reason = Refused, string(refused)
	case providers.ClassOf(err) == providers.NotManaged:
		a.Kind, a.Reason = Refused, reasonNotOurs
	default:
		a.Kind, a.Reason = Failed, err.Error()
	}
	a.Would = wouldDelete
	return a
}
