// Package inventory is the record of what one secretsync instance owns:
// the Secrets it applied (entries), the last status of each ExternalSecret,
// what each PushSecret pushed, its codec and sharding across ConfigMaps,
// the read API the command line uses, and the two pure rules of pruning:
// which recorded targets are stale (Stale) and whether deleting them can
// be trusted (PruneGuard).
package inventory

import "github.com/secretsync/secretsync/plan"

// Entry is one Secret (or ConfigMap target) secretsync applied.
// It holds names and sources, never values or hashes.
type Entry struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	Kind           string `json:"kind,omitempty"` // empty for a Secret
	ExternalSecret string `json:"externalSecret"`
	Source         string `json:"source"`
}

// Key is the target the entry records.
func (e Entry) Key() plan.Target {
	return plan.Target{Namespace: e.Namespace, Name: e.Name, Kind: e.Kind}
}

// EntryOf records target t, written by externalSecret from source.
func EntryOf(t plan.Target, externalSecret, source string) Entry {
	return Entry{Namespace: t.Namespace, Name: t.Name, Kind: t.Kind, ExternalSecret: externalSecret, Source: source}
}

// CompareEntries orders entries by their targets (plan.Compare), as a
// record holds them.
func CompareEntries(a, b Entry) int { return plan.Compare(a.Key(), b.Key()) }
