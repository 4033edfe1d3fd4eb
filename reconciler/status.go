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

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Status is the state of one ExternalSecret, kept in the inventory so that
// it is visible without CRDs. It holds no values.
type Status struct {
	ExternalSecret string `json:"externalSecret"` // namespace/name
	Source         string `json:"source"`
	Target         string `json:"target"` // namespace/name of the Secret
	// LastSync is when secretsync last wrote the Secret.
	LastSync *metav1.Time `json:"lastSync,omitempty"`
	// Versions maps each remote reference to the version id last read.
	Versions Versions `json:"versions,omitempty"`
	// Synced and Refreshed are ESO's status.syncedResourceVersion and
	// status.refreshTime: the ExternalSecret's resource version
	// (versionOf: a digest of its spec, labels and annotations) when its
	// values were last fetched, and when. A new process or leader decides
	// from them whether a refresh is due (restore).
	Synced    string       `json:"synced,omitempty"`
	Refreshed *metav1.Time `json:"refreshed,omitempty"`
	Ready     bool         `json:"ready"`
	Reason    string       `json:"reason"`
	Message   string       `json:"message,omitempty"`
}

// outcome is what one pass did for one ExternalSecret. A pass holds one
// per ExternalSecret: the flags go last, together, so that it packs into
// 64 bytes.
type outcome struct {
	err      error
	class    string
	versions Versions
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
func (r *Result) failedTargets(set *render.Set) map[targetKey]bool {
	out := map[targetKey]bool{}
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
// versions) from the previous record's rows, which it reads alongside.
// newFailures are the failing rows whose failure is new or different;
// same says the rows are old's.
func (r *Reconciler) statuses(set *render.Set, res *Result, old *record) (out []Status, newFailures map[string]bool, same bool) {
	now := metav1.NewTime(r.now().UTC().Truncate(time.Second))
	refreshed := metav1.NewTime(r.passAt)
	out = make([]Status, 0, len(set.ExternalSecrets))
	for _, es := range set.ExternalSecrets {
		id := esID(es)
		st := Status{ExternalSecret: id, Source: es.Source, Target: target(es).String(), Ready: true, Reason: "Synced"}
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
			st.Synced, st.Refreshed = versionOf(es).String(), &refreshed
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
		out = append(out, Status{ExternalSecret: id, Source: e.Source, Ready: false, Reason: "Invalid", Message: res.scrub.String(e.Error())})
	}
	slices.SortStableFunc(out, byExternalSecret)

	prev, unpaired, stop := old.statusFinder()
	defer stop()
	newFailures = map[string]bool{}
	same = true
	for i := range out {
		st := &out[i]
		p, had := prev(st.ExternalSecret)
		if st.Target == "" { // invalid
			if had {
				st.Target, st.LastSync, st.Versions = p.Target, p.LastSync, p.Versions
				st.Synced, st.Refreshed = p.Synced, p.Refreshed
			}
		} else {
			if had {
				st.LastSync, st.Versions = p.LastSync, p.Versions
				if st.Refreshed == nil {
					st.Synced, st.Refreshed = p.Synced, p.Refreshed
				}
			}
			if o := res.outcomes[st.ExternalSecret]; o != nil {
				if o.resolved && len(o.versions) > 0 {
					st.Versions = o.versions
				}
				if o.written {
					st.LastSync = &now
				}
			}
		}
		if !st.Ready && (p.Ready || p.Message != st.Message) {
			newFailures[st.ExternalSecret] = true
		}
		same = same && had && sameStatus(p, *st) && (i == 0 || out[i-1].ExternalSecret != st.ExternalSecret)
	}
	return out, newFailures, same && !unpaired()
}

// emitEvents records Kubernetes Events on the Secrets: Created and Updated
// for writes, Deleted for prunes, SyncFailed when an ExternalSecret's failure is new or
// different. Past Config.EventsPerPass, warnings go first and one Event per
// reason on the inventory ConfigMap counts the rest. An unchanged pass
// emits none. Events are best effort.
func (r *Reconciler) emitEvents(ctx context.Context, statuses []Status, newFailures map[string]bool, res *Result) {
	type event struct {
		t                targetKey
		typ, reason, msg string
	}
	var warnings, normal []event
	for _, st := range statuses {
		o := res.outcomes[st.ExternalSecret]
		t, ok := parseKey(st.Target)
		if !ok {
			continue // an invalid ExternalSecret that never had a target
		}
		switch {
		case o != nil && o.written && o.created:
			normal = append(normal, event{t, corev1.EventTypeNormal, "Created", "created from ExternalSecret " + st.ExternalSecret + " (" + st.Source + ") at " + res.Revision})
		case o != nil && o.written:
			normal = append(normal, event{t, corev1.EventTypeNormal, "Updated", "updated from ExternalSecret " + st.ExternalSecret + " (" + st.Source + ") at " + res.Revision})
		case !st.Ready && newFailures[st.ExternalSecret]:
			warnings = append(warnings, event{t, corev1.EventTypeWarning, "SyncFailed", st.Reason + ": " + st.Message})
		}
	}
	for _, k := range res.takenOver {
		warnings = append(warnings, event{k.target, corev1.EventTypeWarning, "KeyTakenOver",
			fmt.Sprintf("key %q was held by field manager %q and is now written by ExternalSecret %s (creationPolicy merge)", k.key, k.manager, k.es)})
	}
	for _, e := range res.deleted {
		normal = append(normal, event{keyOf(e), corev1.EventTypeNormal, "Deleted", "pruned: ExternalSecret " + e.ExternalSecret + " (" + e.Source + ") left Git"})
	}
	all := append(warnings, normal...)
	var jobs []func()
	for _, e := range all[:min(len(all), r.cfg.EventsPerPass)] {
		jobs = append(jobs, func() { r.event(ctx, e.t.ref(), e.typ, e.reason, e.msg) })
	}
	rest := map[string]int{}
	var order []event
	for _, e := range all[min(len(all), r.cfg.EventsPerPass):] {
		if rest[e.reason] == 0 {
			order = append(order, e)
		}
		rest[e.reason]++
	}
	inventory := r.inventoryRef()
	for _, e := range order {
		msg := fmt.Sprintf("%d more Secrets %s at %s; per-Secret Events stop at %d a pass, `secretsync status` lists each", rest[e.reason], strings.ToLower(e.reason), res.Revision, r.cfg.EventsPerPass)
		jobs = append(jobs, func() { r.event(ctx, inventory, e.typ, e.reason, msg) })
	}
	parallel.Run(r.cfg.Concurrency, jobs)
}

// event records one Event; its message goes through the pass's redactor.
func (r *Reconciler) event(ctx context.Context, about corev1.ObjectReference, typ, reason, msg string) {
	msg = r.scrub.String(msg)
	now := metav1.NewTime(r.now())
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: about.Name + ".", Namespace: about.Namespace},
		InvolvedObject:      about,
		Reason:              reason,
		Message:             truncate(msg, 1024),
		Type:                typ,
		Source:              corev1.EventSource{Component: "secretsync"},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "secretsync.io/secretsync",
		ReportingInstance:   r.cfg.Instance,
	}
	if _, err := r.kube.CoreV1().Events(about.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		r.log.Debug().Err(r.scrub.Error(err)).Str("namespace", about.Namespace).Str("kind", about.Kind).Str("name", about.Name).Str("reason", reason).Msg("event not recorded")
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// versionsOf lists the version ids an ExternalSecret's values came from.
func versionsOf(refs []desired.Entry, found map[findKey]findResult, fetched map[fetchKey]providers.Fetched) Versions {
	var out Versions
	add := func(e desired.Entry, ref providers.Ref, name string) {
		if f := fetched[fetchKey{servedOf(e), ref}]; f.VersionID != "" {
			out = out.set(name, f.VersionID)
		}
	}
	for _, e := range refs {
		if e.Generator != nil {
			continue
		}
		if e.Find == nil {
			add(e, e.Ref, e.Ref.String())
			continue
		}
		for _, it := range found[findKeyOf(e)].found {
			add(e, it.Ref, it.Name)
		}
	}
	return out
}
