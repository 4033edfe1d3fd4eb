package desired

import (
	"cmp"
	"slices"
	"strings"

	"github.com/secretsync/secretsync/render"
)

// RemoteIndex maps the remote secrets and parameters of a pass's ExternalSecrets
// to them, for the reconciler's Touch: by the name an AWS change event gives them (a
// store's prefix applied, ARNs turned into names), and the ExternalSecrets
// with a find; and the remote secrets a pass's PushSecrets write to them.
// It is pure: built from the rendered manifests, it reads nothing.
type RemoteIndex struct {
	// byName is sorted by remote name: a list of pairs rather than a map
	// of lists, since a process holds it between passes for every
	// ExternalSecret.
	byName  []RemoteUse
	finders []string
}

// RemoteUse is one ExternalSecret (ID: namespace/name) reading one remote
// name. PushSecrets keep their own index (pushsecret.Pusher.Touch).
type RemoteUse struct{ Name, ID string }

// Readers returns the ExternalSecrets that read name.
func (x RemoteIndex) Readers(name string) []RemoteUse { return usesOf(x.byName, name) }

// Finders returns the ExternalSecrets with a find, whose result any
// listing change may alter.
func (x RemoteIndex) Finders() []string { return x.finders }

// Touched returns the ExternalSecrets that read any of names and, when
// listing, every one with a find, in that order (one may appear twice).
func (x RemoteIndex) Touched(names []string, listing bool) []string {
	var out []string
	for _, n := range names {
		for _, u := range x.Readers(n) {
			out = append(out, u.ID)
		}
	}
	if listing {
		out = append(out, x.finders...)
	}
	return out
}

// usesOf returns the uses of name in uses, sorted by name.
func usesOf(uses []RemoteUse, name string) []RemoteUse {
	i, _ := slices.BinarySearchFunc(uses, name, func(u RemoteUse, n string) int { return strings.Compare(u.Name, n) })
	j := i
	for j < len(uses) && uses[j].Name == name {
		j++
	}
	return uses[i:j]
}

// Add indexes one ExternalSecret's entries; Sort ends the index.
func (x *RemoteIndex) Add(es *render.ExternalSecret, entries []Entry, stores map[StoreKey]*render.SecretStore) {
	id := es.ID()
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
		if name := Service(st).EventName(st.Spec.Provider.AWS.Prefix, e.Ref.Key); name != "" {
			x.byName = append(x.byName, RemoteUse{Name: name, ID: id})
		}
	}
	if hasFind {
		x.finders = append(x.finders, id)
	}
}

// Sort ends the index of the ExternalSecrets added.
func (x *RemoteIndex) Sort() {
	slices.SortFunc(x.byName, func(a, b RemoteUse) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
}
