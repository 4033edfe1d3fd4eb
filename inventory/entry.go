// Package inventory is the record of what one secretsync instance owns:
// the Secrets it applied (entries), the last status of each ExternalSecret,
// what each PushSecret pushed, its codec and sharding across ConfigMaps,
// the read API the command line uses, and the two pure rules of pruning:
// which recorded targets are stale (Stale) and whether deleting them can
// be trusted (PruneGuard).
package inventory

// Entry is one Secret (or ConfigMap target) secretsync applied.
// It holds names and sources, never values or hashes.
type Entry struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	Kind           string `json:"kind,omitempty"` // empty for a Secret
	ExternalSecret string `json:"externalSecret"`
	Source         string `json:"source"`
}

// Key names a target: namespace, name and kind ("" for a Secret).
type Key struct{ Namespace, Name, Kind string }

// Key is the target the entry records.
func (e Entry) Key() Key { return Key{e.Namespace, e.Name, e.Kind} }
