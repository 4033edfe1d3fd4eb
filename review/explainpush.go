package review

import (
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// PushExplanation is what one PushSecret of a rendered set pushes, by name
// only: its source, its policies, its stores and each remote secret it
// writes (explain prints it). It holds no value.
type PushExplanation struct {
	File   string `json:"file"`
	Source string `json:"source"`
	// UpdatePolicy and DeletionPolicy are given with ESO's defaults;
	// RefreshInterval as written, empty when it is not.
	UpdatePolicy    string         `json:"updatePolicy"`
	DeletionPolicy  string         `json:"deletionPolicy"`
	RefreshInterval string         `json:"refreshInterval,omitempty"`
	Stores          []string       `json:"stores"`
	Remotes         []PushedRemote `json:"remotes"`
}

// PushedRemote is one remote secret (and property) a PushSecret writes:
// a dataTo entry without remoteKey names one per source key, known only
// when run reads the source, and is shown as "(one per key of ...)".
type PushedRemote struct {
	Store     string `json:"store"`
	RemoteKey string `json:"remoteKey"`
	Property  string `json:"property,omitempty"`
	// From is the source key pushed, or the keys a dataTo entry matches.
	From string `json:"from"`
}

// ExplainPush explains the PushSecret id (namespace/name) of set, or
// returns nil when set has none of that id.
func ExplainPush(set *render.Set, id string) *PushExplanation {
	for _, ps := range set.PushSecrets {
		if ps.ID() != id {
			continue
		}
		deletion := ps.Spec.DeletionPolicy
		if deletion == "" {
			deletion = render.PushDeleteNone
		}
		e := &PushExplanation{File: ps.Source, Source: pushSource(ps), UpdatePolicy: ps.Updates(), DeletionPolicy: deletion,
			Stores: []string{}, Remotes: []PushedRemote{}}
		if ri := ps.Spec.RefreshInterval; ri != nil {
			b, _ := ri.MarshalJSON()
			e.RefreshInterval = strings.Trim(string(b), `"`)
		}
		stores := desired.IndexStores(set)
		for _, k := range desired.PushStores(ps, stores) {
			e.Stores = append(e.Stores, k.String())
		}
		for _, m := range pushMaps(ps, stores) {
			e.Remotes = append(e.Remotes, PushedRemote{Store: m.store, RemoteKey: m.key, Property: m.prp, From: m.what})
		}
		return e
	}
	return nil
}
