package reconciler

import (
	"bytes"
	"context"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// SecretDiff is what the next pass would do to one Secret, as its plan
// says (plan.Action): create it, change some keys (compared by value,
// reported by name), delete it (deletionPolicy Delete), orphan it, prune
// it, or refuse one of these, saying why; or roll out a workload (Kind
// Deployment, StatefulSet or DaemonSet) whose Secrets it changes. It holds
// no values.
type SecretDiff struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind,omitempty"` // ConfigMap for a ConfigMap target
	Action    string   `json:"action"`         // create, change, delete, orphan, prune, refused, rollout
	Added     []string `json:"added,omitempty"`
	Changed   []string `json:"changed,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	// Other is set when something besides data differs (type, labels,
	// annotations).
	Other bool `json:"other,omitempty"`
	// TakenFrom names, for each key a merge would overwrite that another
	// field manager holds, that manager.
	TakenFrom map[string]string `json:"takenFrom,omitempty"`
	// Would is what a refused action would have done (apply, merge,
	// prune), and Reason why the pass refuses it.
	Would  string `json:"would,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Fails marks a refusal the pass reports as a failure (a target it
	// cannot read, a Merge target that does not exist, a prune past the
	// budget or of everything); a refusal without it is only said.
	Fails bool `json:"fails,omitempty"`
}

// Diff plans a forced pass and prints its plan, writing nothing: no apply,
// no prune, no inventory, no Event, no rollout. The plan is the one Pass
// executes (planWrites, planPrune, plan.RollOut), so Diff never announces
// what Pass refuses.
func (r *Reconciler) Diff(ctx context.Context) ([]SecretDiff, Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scrub = scrub.New()
	defer func() { r.scrub = nil }()
	res := Result{scrub: r.scrub}
	snap, err := r.src.Fetch(ctx)
	if err != nil {
		res.fail(FetchFailed, err)
		return nil, res
	}
	res.Revision = snap.Revision
	obs, ok := r.observe(ctx, snap, true, &res)
	if !ok {
		return nil, res
	}
	if !obs.old.ours { // as Pass: what a forced pass would do starts from the recorded state
		if err := r.restore(obs.old); err != nil {
			unreadable(&res, err)
			return nil, res
		}
		obs.live.ReadManaged()
		defer func() { r.restored = nil }()
	}
	var out []SecretDiff
	// done is what Pass's writes leave in their desired state if they
	// succeed: what its prune plan reads.
	done := map[targetKey]*render.ExternalSecret{}
	changes := r.rolloutChanges()
	for part := range r.desired(ctx, obs.set, snap.Revision, obs.live, obs.merged, true, false, &res) {
		actions, current := r.planWrites(ctx, part, obs.live, obs.merged, obs.mergeErr)
		for i, d := range part {
			if doneAfter(actions[i]) {
				done[d.target] = d.es
			}
			r.addRolloutChange(changes, d, actions[i])
			if sd, ok := diffOf(actions[i], d, current[i]); ok {
				out = append(out, sd)
			}
		}
	}
	split, prunes, _, readErr := r.planPrune(obs.old.Entries(), obs.set, done, res.failedTargets(obs.set))
	if readErr != nil {
		unreadable(&res, readErr)
		return nil, res
	}
	for _, e := range split.Released {
		out = append(out, SecretDiff{Namespace: e.Namespace, Name: e.Name, Kind: e.Kind, Action: string(plan.Orphan)})
	}
	for _, p := range prunes {
		sd, _ := diffOf(p, desiredSecret{target: targetOf(p.Target)}, nil)
		out = append(out, sd)
	}
	out = append(out, r.diffRollouts(ctx, changes, &res)...)
	r.scrubDiffs(out)
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, res
}

// diffOf prints one action of the plan; ok false for one that changes
// nothing (keep, nothing). current is the target as the plan read it.
func diffOf(a plan.Action, d desiredSecret, current *corev1.Secret) (sd SecretDiff, ok bool) {
	t := d.target
	sd = SecretDiff{Namespace: t.namespace, Name: t.name, Kind: t.kind, Action: string(a.Kind)}
	switch {
	case a.Kind == plan.Keep || a.Kind == plan.Nothing:
		return sd, false
	case a.Kind == plan.Refused:
		sd.Would, sd.Reason, sd.Fails = string(a.Would), a.Reason, a.Err != nil
	case a.Kind == plan.Create || a.Kind == plan.Merge && current == nil:
		sd.Action, sd.Added = string(plan.Create), slices.Clone(d.shape.Keys())
	case a.Kind == plan.Apply || a.Kind == plan.Merge:
		sd = compare(current, d)
		if a.Kind == plan.Merge {
			if taken := foreignOwners(current, sd.Changed, a.FieldManager); len(taken) > 0 {
				sd.TakenFrom = taken
			}
		}
	}
	return sd, true
}

// scrubDiffs redacts key names and reasons: key names a template or a
// remote JSON made are values too.
func (r *Reconciler) scrubDiffs(out []SecretDiff) {
	for i := range out {
		d := &out[i]
		for _, keys := range [][]string{d.Added, d.Changed, d.Removed} {
			for j, k := range keys {
				keys[j] = r.scrub.String(k)
			}
		}
		d.Reason = r.scrub.String(d.Reason)
		if d.TakenFrom != nil {
			taken := make(map[string]string, len(d.TakenFrom))
			for k, m := range d.TakenFrom {
				taken[r.scrub.String(k)] = m
			}
			d.TakenFrom = taken
		}
	}
}

func compare(live *corev1.Secret, d desiredSecret) SecretDiff {
	sd := SecretDiff{Namespace: d.target.namespace, Name: d.target.name, Kind: d.target.kind, Action: "change"}
	for _, k := range d.shape.Keys() {
		v, ok := live.Data[k]
		switch {
		case !ok:
			sd.Added = append(sd.Added, k)
		case !bytes.Equal(v, d.secret.Data[k]):
			sd.Changed = append(sd.Changed, k)
		}
	}
	if desired.Owning(d.es) {
		// Keys the Secret holds and the desired one does not; an apply
		// removes those secretsync wrote (others' keys stay).
		for k := range live.Data {
			if _, ours := d.secret.Data[k]; !ours {
				sd.Removed = append(sd.Removed, k)
			}
		}
	}
	sort.Strings(sd.Removed)
	sd.Other = len(sd.Added)+len(sd.Changed)+len(sd.Removed) == 0
	return sd
}
