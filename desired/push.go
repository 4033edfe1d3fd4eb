package desired

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/secretsync/secretsync/render"
)

// PushProblems are the reasons run refuses a PushSecret without asking AWS
// or the cluster: a namespace secretsync may not reach, or its own (where
// its Git credentials are), a store that is missing, does not serve the
// namespace, or is of a service secretsync does not push to (awsservice's
// Pushes), a store label selector that matches no store. Both run and
// validate use it.
func PushProblems(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore, opt Options) []Problem {
	var out []Problem
	if !NamespaceAllowed(opt.Namespaces, ps.Namespace) {
		out = append(out, Problem{Field: "metadata.namespace",
			Err: fmt.Errorf("namespace %s is not one secretsync may reach (--namespaces %s)", ps.Namespace, strings.Join(opt.Namespaces, ","))})
	}
	if slices.Contains(opt.OwnNamespaces, ps.Namespace) {
		out = append(out, Problem{Field: "metadata.namespace",
			Err: fmt.Errorf("namespace %s is secretsync's own, holding its Git credentials and webhook secret, which are never pushed", ps.Namespace)})
	}
	for i, ref := range ps.Spec.SecretStoreRefs {
		field := fmt.Sprintf("spec.secretStoreRefs[%d]", i)
		if ref.LabelSelector != nil && !slices.ContainsFunc(PushStores(ps, stores), func(k StoreKey) bool { return storeSelected(ref, ps.Namespace, k, stores[k]) }) {
			out = append(out, Problem{Field: field + ".labelSelector", Err: fmt.Errorf("matches no %s in the rendered manifests", ref.StoreKind())})
		}
	}
	for _, key := range PushStores(ps, stores) {
		st := stores[key]
		if err := StoreProblem(st, key, ps.Namespace, false, opt.NamespaceLabels); err != nil {
			out = append(out, Problem{Field: "spec.secretStoreRefs", Err: err})
			continue
		}
		if s := Service(st); !s.Pushes() {
			out = append(out, Problem{Field: "spec.secretStoreRefs", Err: fmt.Errorf("%s is a %s store, which secretsync does not push to", key, s)})
		}
	}
	return out
}

// PushRemote is a remote secret a PushSecret writes, by name.
type PushRemote struct {
	Field     string
	Store     StoreKey
	RemoteKey string
}

// StaticRemotes are the remote secrets ps writes that Git alone names: its
// data entries and its dataTo bundles, in each store. dataTo without
// remoteKey names its remote secrets after the source's keys, known only
// when the source is read (PushEntries).
func StaticRemotes(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore) []PushRemote {
	var out []PushRemote
	for _, key := range PushStores(ps, stores) {
		for i, dt := range ps.Spec.DataTo {
			if dt.RemoteKey != "" && DataToSelects(ps, dt, key, stores) {
				out = append(out, PushRemote{Field: fmt.Sprintf("spec.dataTo[%d].remoteKey", i), Store: key, RemoteKey: dt.RemoteKey})
			}
		}
		for i, d := range ps.Spec.Data {
			out = append(out, PushRemote{Field: fmt.Sprintf("spec.data[%d].match.remoteRef.remoteKey", i), Store: key, RemoteKey: d.Match.RemoteRef.RemoteKey})
		}
	}
	return out
}

// SharedRemotes refuses, by PushSecret, the remote secrets (store and
// remote key) that PushSecrets of more than one namespace push to: each
// would overwrite the other's value in turn, so a repo writer of one
// namespace could replace what another team's consumers read. remotes
// says what each writes (StaticRemotes offline; run adds what dataTo
// expanded to). Both run and validate use it.
func SharedRemotes(pss []*render.PushSecret, remotes func(*render.PushSecret) []PushRemote) map[string]*Problem {
	nss := map[string]map[string]bool{}
	of := make(map[string][]PushRemote, len(pss))
	for _, ps := range pss {
		of[ps.ID()] = remotes(ps)
		for _, r := range of[ps.ID()] {
			remote := r.Store.String() + "\x00" + r.RemoteKey
			if nss[remote] == nil {
				nss[remote] = map[string]bool{}
			}
			nss[remote][ps.Namespace] = true
		}
	}
	out := map[string]*Problem{}
	for _, ps := range pss {
		for _, r := range of[ps.ID()] {
			ns := nss[r.Store.String()+"\x00"+r.RemoteKey]
			if len(ns) > 1 && out[ps.ID()] == nil {
				out[ps.ID()] = &Problem{Field: r.Field,
					Err: fmt.Errorf("remote secret %s in %s is also pushed by a PushSecret of namespace(s) %s: refused for all of them, the remote secret is left as it is",
						r.RemoteKey, r.Store, strings.Join(slices.Sorted(maps.Keys(ns)), ","))}
			}
		}
	}
	return out
}

// PushGenerator is the generator a PushSecret pushes from, when its
// selector names one, and the reason it is refused: it must render from
// the same path in the PushSecret's namespace (as an ExternalSecret's).
// Both run and validate use it.
func PushGenerator(ps *render.PushSecret, gens map[GeneratorKey]*render.Generator) (*render.Generator, error) {
	if len(ps.Spec.Selector.GeneratorRef) == 0 {
		return nil, nil
	}
	ref, err := ps.Spec.Selector.Generator()
	if err != nil {
		return nil, err
	}
	k := GeneratorKey{ps.Namespace, ref.Kind, ref.Name}
	if gens[k] == nil {
		return nil, fmt.Errorf("generator %s is not in the rendered manifests; it must render from the same path, in the PushSecret's namespace", k)
	}
	return gens[k], nil
}
