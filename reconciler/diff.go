package reconciler

import (
	"bytes"
	"context"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
)

// SecretDiff is what the next pass would do to one Secret: create it,
// change some keys (compared by value, reported by name), or prune it.
// It holds no values.
type SecretDiff struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind,omitempty"` // ConfigMap for a ConfigMap target
	Action    string   `json:"action"`         // create, change, prune
	Added     []string `json:"added,omitempty"`
	Changed   []string `json:"changed,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	// Other is set when something besides data differs (type, labels,
	// annotations).
	Other bool `json:"other,omitempty"`
	// TakenFrom names, for each key a merge would overwrite that another
	// field manager holds, that manager.
	TakenFrom map[string]string `json:"takenFrom,omitempty"`
}

// Diff resolves everything as a forced pass would and compares it with the
// cluster, writing nothing: no apply, no prune, no inventory, no Event.
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
	set, inv, live, merged := obs.set, obs.old.Inventory, obs.live, obs.merged
	if !obs.old.ours { // as Pass: what a forced pass would do starts from the recorded state
		r.restore(obs.old)
		live.managed = true
		defer func() { r.restored = nil }()
	}
	var want []desiredSecret
	for part := range r.desired(ctx, set, snap.Revision, live, merged, true, false, &res) {
		want = append(want, part...)
	}
	blocked := res.failedTargets(set)
	var out []SecretDiff
	inGit := map[targetKey]bool{}
	for _, d := range want {
		inGit[d.target] = true
		if d.gone || d.retained || desired.CreationPolicy(d.es) == desired.PolicyNone {
			continue
		}
		current, _ := live.get(ctx, d.target)
		if desired.Merges(d.es) {
			current = merged[d.target]
		}
		if current == nil {
			if desired.CreationPolicy(d.es) != desired.PolicyMerge {
				out = append(out, SecretDiff{Namespace: d.target.namespace, Name: d.target.name, Kind: d.target.kind, Action: "create", Added: slices.Clone(d.shape.data)})
			}
			continue
		}
		if d.shape.matches(current, d.hash) {
			continue
		}
		sd := compare(current, d)
		if desired.Merges(d.es) {
			if taken := foreignOwners(current, sd.Changed, mergeManager(d.es)); len(taken) > 0 {
				sd.TakenFrom = taken
			}
		}
		out = append(out, sd)
	}
	for _, es := range set.ExternalSecrets {
		inGit[target(es)] = true
	}
	if len(set.Errors) == 0 {
		for _, e := range inv.Entries {
			if !inGit[keyOf(e)] && !blocked[keyOf(e)] {
				out = append(out, SecretDiff{Namespace: e.Namespace, Name: e.Name, Kind: e.Kind, Action: "prune"})
			}
		}
	}
	for i := range out { // key names a template or a remote JSON made are values too
		d := &out[i]
		for _, keys := range [][]string{d.Added, d.Changed, d.Removed} {
			for j, k := range keys {
				keys[j] = r.scrub.String(k)
			}
		}
		if d.TakenFrom != nil {
			taken := make(map[string]string, len(d.TakenFrom))
			for k, m := range d.TakenFrom {
				taken[r.scrub.String(k)] = m
			}
			d.TakenFrom = taken
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, res
}

func compare(live *corev1.Secret, d desiredSecret) SecretDiff {
	sd := SecretDiff{Namespace: d.target.namespace, Name: d.target.name, Kind: d.target.kind, Action: "change"}
	for _, k := range d.shape.data {
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
