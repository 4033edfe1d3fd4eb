package plan

import (
	"bytes"
	"slices"
)

// Diff is an action as diff prints it: what the next pass would do to one
// target (create it, change some keys, compared by value and named by key,
// delete, orphan or prune it, or refuse one of these, saying why), or a
// workload it would roll out (Kind Deployment, StatefulSet or DaemonSet).
// It holds no values.
type Diff struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Kind      string `json:"kind,omitempty"` // ConfigMap for a ConfigMap target
	Action    string `json:"action"`         // create, change, delete, orphan, prune, refused, rollout
	Change
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

// Diff is the action as diff prints it, without what only the target's
// content can say (Change, TakenFrom).
func (a Action) Diff() Diff {
	t := a.Target
	return Diff{Namespace: t.Namespace, Name: t.Name, Kind: t.Kind, Action: string(a.Kind),
		Would: string(a.Would), Reason: a.Reason, Fails: a.Kind == Refused && a.Err != nil}
}

// Redact passes every key name and the reason through redact: key names a
// template or a remote JSON made are values too.
func (d *Diff) Redact(redact func(string) string) {
	for _, keys := range [][]string{d.Added, d.Changed, d.Removed} {
		for j, k := range keys {
			keys[j] = redact(k)
		}
	}
	d.Reason = redact(d.Reason)
	if d.TakenFrom != nil {
		taken := make(map[string]string, len(d.TakenFrom))
		for k, m := range d.TakenFrom {
			taken[redact(k)] = m
		}
		d.TakenFrom = taken
	}
}

// Writes reports an action that writes its target's content: what rollout
// on change counts as a changed Secret.
func (a Action) Writes() bool {
	return a.Kind == Create || a.Kind == Apply || a.Kind == Merge
}

// Change is what a write changes in its target's data, by key name: never
// a value.
type Change struct {
	Added   []string `json:"added,omitempty"`
	Changed []string `json:"changed,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Other is set when something besides data differs (type, labels,
	// annotations): a write with no key to name.
	Other bool `json:"other,omitempty"`
}

// ChangeOf compares a target's live data with the desired data, keys being
// the desired keys in order: added when live lacks one, changed when its
// bytes differ. An owning write (desired.Owning: the whole object is
// applied) also removes the live keys the desired data lacks.
func ChangeOf(live, want map[string][]byte, keys []string, owning bool) Change {
	var c Change
	for _, k := range keys {
		v, ok := live[k]
		switch {
		case !ok:
			c.Added = append(c.Added, k)
		case !bytes.Equal(v, want[k]):
			c.Changed = append(c.Changed, k)
		}
	}
	if owning {
		for k := range live {
			if _, ours := want[k]; !ours {
				c.Removed = append(c.Removed, k)
			}
		}
	}
	slices.Sort(c.Removed)
	c.Other = len(c.Added)+len(c.Changed)+len(c.Removed) == 0
	return c
}
