package desired

import (
	"fmt"
	"slices"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// StoreKey is the one form of a store's identity. A ClusterSecretStore's
// has no namespace.
type StoreKey struct{ Kind, Namespace, Name string }

func (k StoreKey) String() string {
	if k.Kind == render.KindClusterSecretStore {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

// StoreKeyOf is the key of a store object: a ClusterSecretStore's has no
// namespace, whatever its manifest says.
func StoreKeyOf(kind, namespace, name string) StoreKey {
	if kind == render.KindClusterSecretStore {
		namespace = ""
	}
	return StoreKey{Kind: kind, Namespace: namespace, Name: name}
}

// StoreOf names the store that serves an entry of es: src's storeRef, else
// es's secretStoreRef.
func StoreOf(es *render.ExternalSecret, src *render.SourceRef) StoreKey {
	return StoreKeyOf(es.StoreRef(src))
}

// IndexStores maps a set's stores by their key.
func IndexStores(set *render.Set) map[StoreKey]*render.SecretStore {
	out := make(map[StoreKey]*render.SecretStore, len(set.Stores))
	for _, st := range set.Stores {
		out[StoreKeyOf(st.Kind, st.Namespace, st.Name)] = st
	}
	return out
}

// IsStoreKind reports the kinds of store objects.
func IsStoreKind(kind string) bool {
	return kind == render.KindSecretStore || kind == render.KindClusterSecretStore
}

// NamespaceAllowed reports whether secretsync may write to ns, given the
// namespaces it is limited to (none: all).
func NamespaceAllowed(namespaces []string, ns string) bool {
	return len(namespaces) == 0 || slices.Contains(namespaces, ns)
}

// Entry is one source of an ExternalSecret's keys: a data item (SecretKey
// set), a dataFrom extract (SecretKey empty), a dataFrom find (Find set,
// Ref unset) or a dataFrom generator (Generator set; no store).
type Entry struct {
	Field string // where it is in the manifest, e.g. spec.data[0]
	Store StoreKey
	// Serving is the ExternalSecret's namespace when Store is referent
	// (render.Referent), else empty: such a store's provider and values are
	// that namespace's, so they are built, fetched and shared per Store and
	// Serving, never across namespaces.
	Serving string
	Ref     providers.Ref
	// Remote is the ExternalSecret's own remoteRef, shared and read-only
	// (a pass holds the entries of 50,000 ExternalSecrets at once); a find
	// or generator entry points at an empty one.
	Remote    *render.RemoteRef
	SecretKey string
	Find      *render.Find
	Generator *GeneratorKey
	Rewrite   []render.Rewrite
}

// dataFields are the Fields of the first data items, made once: most
// ExternalSecrets have a few, and a pass lists the entries of every one.
var dataFields = func() (out [16]string) {
	for i := range out {
		out[i] = fmt.Sprintf("spec.data[%d]", i)
	}
	return out
}()

func dataField(i int) string {
	if i < len(dataFields) {
		return dataFields[i]
	}
	return fmt.Sprintf("spec.data[%d]", i)
}

// noRemote is the Remote of entries that have none; never written.
var noRemote render.RemoteRef

// GeneratorKey names a generator: its namespace, kind and name.
type GeneratorKey struct{ Namespace, Kind, Name string }

func (k GeneratorKey) String() string { return k.Kind + "/" + k.Namespace + "/" + k.Name }

// IndexGenerators maps a set's generators by their key.
func IndexGenerators(set *render.Set) map[GeneratorKey]*render.Generator {
	out := make(map[GeneratorKey]*render.Generator, len(set.Generators))
	for _, g := range set.Generators {
		out[GeneratorKey{g.Namespace, g.Kind, g.Name}] = g
	}
	return out
}

// Query is a find entry's selection, in the provider's terms.
func (e Entry) Query() providers.Query {
	q := providers.Query{Tags: e.Find.Tags}
	if e.Find.Path != nil {
		q.Path = *e.Find.Path
	}
	if e.Find.Name != nil {
		q.NameRegexp = e.Find.Name.RegExp
	}
	return q
}

// Entries lists an ExternalSecret's references in the order ESO applies
// them: dataFrom first, then data, later keys winning. A reference through a
// KMS store is bound to the Secret key it is written to.
func Entries(es *render.ExternalSecret, stores map[StoreKey]*render.SecretStore) []Entry {
	out := entries(es, stores)
	for i := range out {
		if st := stores[out[i].Store]; st != nil && out[i].Generator == nil && render.Referent(st) {
			out[i].Serving = es.Namespace
		}
	}
	return out
}

func entries(es *render.ExternalSecret, stores map[StoreKey]*render.SecretStore) []Entry {
	var out []Entry
	for i, d := range es.Spec.DataFrom {
		if ref, ok := d.GeneratorRef(); ok {
			out = append(out, Entry{
				Field:     fmt.Sprintf("spec.dataFrom[%d].sourceRef.generatorRef", i),
				Generator: &GeneratorKey{es.Namespace, ref.Kind, ref.Name},
				Remote:    &noRemote,
				Rewrite:   d.Rewrite,
			})
			continue
		}
		if d.Find != nil {
			out = append(out, Entry{
				Field:   fmt.Sprintf("spec.dataFrom[%d].find", i),
				Store:   StoreOf(es, d.SourceRef),
				Find:    d.Find,
				Remote:  &noRemote,
				Rewrite: d.Rewrite,
			})
			continue
		}
		if d.Extract == nil {
			continue // neither find nor extract: render refused the ExternalSecret (validate still compiles it)
		}
		out = append(out, Entry{
			Field:   fmt.Sprintf("spec.dataFrom[%d].extract", i),
			Store:   StoreOf(es, d.SourceRef),
			Ref:     providers.Ref{Key: d.Extract.Key, Version: d.Extract.Version, Metadata: d.Extract.MetadataPolicy == "Fetch"},
			Remote:  d.Extract,
			Rewrite: d.Rewrite,
		})
	}
	for i := range es.Spec.Data {
		d := &es.Spec.Data[i]
		e := Entry{
			Field:     dataField(i),
			Store:     StoreOf(es, d.SourceRef),
			Ref:       providers.Ref{Key: d.RemoteRef.Key, Version: d.RemoteRef.Version, Metadata: d.RemoteRef.MetadataPolicy == "Fetch"},
			Remote:    &d.RemoteRef,
			SecretKey: d.SecretKey,
		}
		if st := stores[e.Store]; st != nil && Service(st).InGit() {
			e.Ref.Target = providers.Target{Namespace: es.Namespace, Secret: es.TargetName(), Key: d.SecretKey}
		}
		out = append(out, e)
	}
	return out
}
