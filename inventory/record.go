package inventory

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Inventory is what an instance has applied and may therefore prune, with
// the last status of each ExternalSecret and the remote secrets its
// PushSecrets push to. It holds names and sources, never values or hashes.
type Inventory struct {
	// Revision is the revision of the last pass that recorded the inventory.
	Revision string `json:"revision"`
	// Status has one row per ExternalSecret in the last rendered revision.
	// It goes before the entries so that `status` stops reading there.
	Status []Status `json:"status,omitempty"`
	// Pushed has one row per remote secret a PushSecret pushes to.
	Pushed  []PushRow `json:"pushed,omitempty"`
	Entries []Entry   `json:"entries"`
}

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
	// status.refreshTime: the ExternalSecret's resource version (a digest
	// of its spec, labels and annotations) when its values were last
	// fetched, and when. A new process or leader decides from them
	// whether a refresh is due.
	Synced    string       `json:"synced,omitempty"`
	Refreshed *metav1.Time `json:"refreshed,omitempty"`
	Ready     bool         `json:"ready"`
	Reason    string       `json:"reason"`
	Message   string       `json:"message,omitempty"`
}

// CompareStatus orders rows by ExternalSecret, as a record holds them.
func CompareStatus(a, b Status) int { return strings.Compare(a.ExternalSecret, b.ExternalSecret) }

// SameStatus compares two rows as their JSON would (times to the second),
// without encoding 10,000 rows twice on every pass.
func SameStatus(a, b Status) bool {
	sameTime := func(a, b *metav1.Time) bool {
		return a == nil && b == nil || a != nil && b != nil && a.Unix() == b.Unix()
	}
	return sameTime(a.LastSync, b.LastSync) && sameTime(a.Refreshed, b.Refreshed) && a.Synced == b.Synced && a.ExternalSecret == b.ExternalSecret && a.Source == b.Source && a.Target == b.Target &&
		a.Ready == b.Ready && a.Reason == b.Reason && a.Message == b.Message && slices.Equal(a.Versions, b.Versions)
}

// PushRow is one remote secret (and property) a PushSecret pushes to, as
// the inventory records it: names, never values. The rows of PushSecrets
// that leave Git are what deletionPolicy Delete deletes.
type PushRow struct {
	PushSecret string `json:"pushSecret"` // namespace/name
	Source     string `json:"source"`     // the manifest's file
	Secret     string `json:"secret"`     // the source Secret, namespace/name
	Store      string `json:"store"`      // desired.StoreKey's form
	RemoteKey  string `json:"remoteKey"`  // as written, before the store's prefix
	Property   string `json:"property,omitempty"`
	// RemoteName is the name the push wrote in AWS (the store's prefix
	// applied): a deletion deletes exactly it, never a name made again from
	// the store as it is now (its prefix may have moved). Empty in rows
	// recorded before it was kept, and in rows never pushed.
	RemoteName string `json:"remoteName,omitempty"`
	Delete     bool   `json:"delete,omitempty"` // deletionPolicy Delete
	// Generator is the generator (kind/name@spec digest) whose values were
	// pushed, for a PushSecret of selectors.generatorRef: they are kept, in
	// AWS only, until its spec changes or its refreshInterval passes.
	Generator string `json:"generator,omitempty"`
	// LastPush is when secretsync last wrote the remote secret for it.
	LastPush *metav1.Time `json:"lastPush,omitempty"`
	Ready    bool         `json:"ready"`
	Reason   string       `json:"reason,omitempty"`
	Message  string       `json:"message,omitempty"`

	// Synced and Checked are a PushSecret's ESO status.syncedResourceVersion
	// and refreshTime: a digest of its spec, its stores' specs and its
	// sources' names and resourceVersions (of Git objects and versions,
	// never of a value) when the remote secret was last found to hold what
	// it pushes, and when. A new process trusts a ready row whose digest is
	// still the same until its refreshInterval passes; a row without them
	// (older records) is pushed again.
	Synced  string       `json:"synced,omitempty"`
	Checked *metav1.Time `json:"checked,omitempty"`
}

// Key tells rows apart: PushSecret, store, remote key and property.
func (p PushRow) Key() string {
	return p.PushSecret + "\x00" + p.Store + "\x00" + p.RemoteKey + "\x00" + p.Property
}

// Remote is the remote secret itself, as written: two rows on one remote
// key (two properties, or a key moved between PushSecrets) share it.
func (p PushRow) Remote() string { return p.Store + "\x00" + p.RemoteKey }

// Written is the remote secret the row's push wrote, by its name in AWS
// (RemoteName), or "" when the row does not know it.
func (p PushRow) Written() string {
	if p.RemoteName == "" {
		return ""
	}
	return p.Store + "\x00" + p.RemoteName
}
