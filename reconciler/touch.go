package reconciler

import (
	"cmp"
	"slices"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// remoteIndex maps the remote secrets and parameters of the last pass's
// ExternalSecrets to them, for Touch: by name (a store's prefix applied,
// ARNs turned into names), and the ExternalSecrets with a find. The
// PushSecrets keep their own (pushsecret.Pusher.Touch).
type remoteIndex struct {
	// byName is sorted by remote name: a list of pairs rather than a map
	// of lists, since a process holds it between passes for every
	// ExternalSecret.
	byName  []remoteUse
	finders []string
}

// remoteUse is one ExternalSecret (namespace/name) reading one remote name.
type remoteUse struct{ name, id string }

// readers returns the ExternalSecrets that read name.
func (x remoteIndex) readers(name string) []remoteUse { return usesOf(x.byName, name) }

// usesOf returns the uses of name in uses, sorted by name.
func usesOf(uses []remoteUse, name string) []remoteUse {
	i, _ := slices.BinarySearchFunc(uses, name, func(u remoteUse, n string) int { return strings.Compare(u.name, n) })
	j := i
	for j < len(uses) && uses[j].name == name {
		j++
	}
	return uses[i:j]
}

// add indexes one ExternalSecret's entries; sort ends the index.
func (x *remoteIndex) add(es *render.ExternalSecret, entries []desired.Entry, stores map[desired.StoreKey]*render.SecretStore) {
	id := esID(es)
	hasFind := false
	for _, e := range entries {
		st := stores[e.Store]
		if e.Generator != nil || st == nil || st.Spec.Provider.AWS == nil {
			continue
		}
		if e.Find != nil {
			hasFind = true
			continue
		}
		if name := desired.Service(st).EventName(st.Spec.Provider.AWS.Prefix, e.Ref.Key); name != "" {
			x.byName = append(x.byName, remoteUse{name, id})
		}
	}
	if hasFind {
		x.finders = append(x.finders, id)
	}
}

func (x *remoteIndex) sort() { sortUses(x.byName) }

func sortUses(uses []remoteUse) {
	slices.SortFunc(uses, func(a, b remoteUse) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.id, b.id)) })
}

// Touch marks for the next pass the ExternalSecrets that read any of
// names (and, when listing, every ExternalSecret with a find, whose result
// the change may alter) and the PushSecrets that write any of them (a
// change made in AWS is put back, as ESO does), and returns them (a
// PushSecret as "PushSecret namespace/name"). It waits for a pass in
// flight.
func (r *Reconciler) Touch(names []string, listing bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	mark := func(id string) {
		// Only a periodic refresh is brought forward: an OnChange, a
		// CreatedOnce or an interval of 0 is never fetched for a remote
		// change alone, as in ESO.
		if st := r.states[id]; st != nil && !st.next.IsZero() {
			st.touched = true
		}
		out = append(out, id)
	}
	for _, n := range names {
		for _, u := range r.remotes.readers(n) {
			mark(u.id)
		}
	}
	if listing {
		for _, id := range r.remotes.finders {
			mark(id)
		}
	}
	return append(out, r.push.Touch(names)...)
}
