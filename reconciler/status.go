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

// outcome is what one pass did for one ExternalSecret. A pass holds one
// per ExternalSecret: the flags go last, together, so that it packs into
// 64 bytes.
type outcome struct {
	err      error
	class    string
	versions inventory.Versions
	// failed: the ExternalSecret is in Git but could not be applied; its
	// Secret is kept as it is and never pruned.
	failed   bool
	resolved bool
	// fetched: its values were fetched in this pass (resolved, retained
	// or gone); with no error, the inventory records it as its refresh.
	fetched bool
	written bool
	created bool
	// retained: its sources gave no data and deletionPolicy Retain kept
	// the Secret as it is (desired.ErrRetained); Ready, with a reason.
	retained bool
}

// failedTargets are the Secrets of the ExternalSecrets that failed.
func (r *Result) failedTargets(set *render.Set) map[plan.Target]bool {
	out := map[plan.Target]bool{}
	for _, es := range set.ExternalSecrets {
		if o := r.outcomes[esID(es)]; o != nil && o.failed {
			out[target(es)] = true
		}
	}
	return out
}

// ExternalSecretFailed reports whether the ExternalSecret (namespace/name)
// failed in the pass.
func (r Result) ExternalSecretFailed(id string) bool {
	o := r.outcomes[id]
	return o != nil && o.failed
}

func (r *Result) outcome(id string) *outcome {
	if r.outcomes == nil {
		r.outcomes = map[string]*outcome{}
	}
	o := r.outcomes[id]
	if o == nil {
		o = &outcome{}
		r.outcomes[id] = o
	}
	return o
}

// carried is the part of an ExternalSecret's outcome its status row
// keeps (inventory.Carry).
func (r *Result) carried(id string) inventory.Outcome {
	if o := r.outcomes[id]; o != nil {
		return inventory.Outcome{Versions: o.versions, Resolved: o.resolved, Written: o.written}
	}
	return inventory.Outcome{}
}

// errorClass names an ExternalSecret's failure for its condition and its
// SyncFailed event: the provider's class when there is one.
func errorClass(reason Reason, err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return string(pe.Class)
	}
	return string(reason)
}

// statuses builds every rendered ExternalSecret's status, in
// ExternalSecret order, keeping what this pass did not learn (last sync,
// versions) from the previous record's rows (inventory.Carry).
func (r *Reconciler) statuses(set *render.Set, res *Result, old *record) (out []inventory.Status, newFailures map[string]bool, same bool, err error) {
	now := metav1.NewTime(r.now().UTC().Truncate(time.Second))
	refreshed := metav1.NewTime(r.passAt)
	out = make([]inventory.Status, 0, len(set.ExternalSecrets))
	for _, es := range set.ExternalSecrets {
		id := esID(es)
		st := inventory.Status{ExternalSecret: id, Source: es.Source, Target: target(es).String(), Ready: true, Reason: "Synced"}
		if st.Target == id {
			st.Target = id // one copy of the string for both: a pass holds 10,000 rows
		}
		o := res.outcomes[id]
		if o != nil && o.err != nil {
			st.Ready, st.Reason, st.Message = false, o.class, res.scrub.String(o.err.Error())
		} else if o != nil && o.retained {
			st.Reason, st.Message = "SecretRetained", desired.ErrRetained.Error()
		}
		if st.Ready && o != nil && o.fetched { // as ESO's markAsDone: only on success
			st.Synced, st.Refreshed = plan.VersionOf(es).String(), &refreshed
		}
		out = append(out, st)
	}
	invalid := map[string]int{} // index in out of each invalid ExternalSecret's row
	for _, e := range set.Errors {
		if e.Kind != render.KindExternalSecret || e.Name == "" {
			continue
		}
		id := e.ID()
		if i, seen := invalid[id]; seen { // one row per ExternalSecret, every problem in it
			out[i].Message += "; " + res.scrub.String(e.Error())
			continue
		}
		invalid[id] = len(out)
		// No target: an invalid row takes its previous one, below.
		out = append(out, inventory.Status{ExternalSecret: id, Source: e.Source, Ready: false, Reason: "Invalid", Message: res.scrub.String(e.Error())})
	}
	slices.SortStableFunc(out, inventory.CompareStatus)
	newFailures, same, err = inventory.Carry(out, old.Statuses(), res.carried, &now)
	return out, newFailures, same, err
}

// emitEvents records Kubernetes Events on the Secrets: Created and Updated
// for writes, Deleted for prunes, SyncFailed when an ExternalSecret's failure is new or
// different. Past Config.EventsPerPass, warnings go first and one Event per
// reason on the inventory ConfigMap counts the rest. An unchanged pass
// emits none. Events are best effort.
func (r *Reconciler) emitEvents(ctx context.Context, statuses []inventory.Status, newFailures map[string]bool, res *Result) {
	var warnings, normal []cluster.Event
	ev := func(t plan.Target, typ, reason, msg string) cluster.Event {
		return cluster.Event{About: cluster.Ref(t), Type: typ, Reason: reason, Message: msg}
	}
	for _, st := range statuses {
		o := res.outcomes[st.ExternalSecret]
		t, ok := plan.ParseTarget(st.Target)
		if !ok {
			continue // an invalid ExternalSecret that never had a target
		}
		switch {
		case o != nil && o.written && o.created:
			normal = append(normal, ev(t, corev1.EventTypeNormal, "Created", "created from ExternalSecret "+st.ExternalSecret+" ("+st.Source+") at "+res.Revision))
		case o != nil && o.written:
			normal = append(normal, ev(t, corev1.EventTypeNormal, "Updated", "updated from ExternalSecret "+st.ExternalSecret+" ("+st.Source+") at "+res.Revision))
		case !st.Ready && newFailures[st.ExternalSecret]:
			warnings = append(warnings, ev(t, corev1.EventTypeWarning, "SyncFailed", st.Reason+": "+st.Message))
		}
	}
	for _, k := range res.takenOver {
		warnings = append(warnings, ev(k.target, corev1.EventTypeWarning, "KeyTakenOver",
			fmt.Sprintf("key %q was held by field manager %q and is now written by ExternalSecret %s (creationPolicy merge)", k.key, k.manager, k.es)))
	}
	for _, e := range res.deleted {
		normal = append(normal, ev(e.Key(), corev1.EventTypeNormal, "Deleted", "pruned: ExternalSecret "+e.ExternalSecret+" ("+e.Source+") left Git"))
	}
	inventory := r.inventoryRef()
	r.recorder().EmitCapped(ctx, append(warnings, normal...), r.cfg.EventsPerPass, r.cfg.Concurrency, func(first cluster.Event, n int) cluster.Event {
		return cluster.Event{About: inventory, Type: first.Type, Reason: first.Reason,
			Message: fmt.Sprintf("%d more Secrets %s at %s; per-Secret Events stop at %d a pass, `secretsync status` lists each", n, strings.ToLower(first.Reason), res.Revision, r.cfg.EventsPerPass)}
	})
}

// recorder records the running pass's Events, scrubbed by its redactor.
func (r *Reconciler) recorder() cluster.Recorder {
	return cluster.NewRecorder(r.kube, r.cfg.Instance, r.now, r.log, r.scrub)
}

// event records one Event (cluster.Recorder.Emit).
func (r *Reconciler) event(ctx context.Context, about corev1.ObjectReference, typ, reason, msg string) {
	r.recorder().Emit(ctx, cluster.Event{About: about, Type: typ, Reason: reason, Message: msg})
}
