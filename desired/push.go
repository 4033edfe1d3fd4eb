package desired

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/secretsync/secretsync/render"
)

// PushProblems are the reasons run refuses a PushSecret without asking AWS
// or the cluster: a namespace secretsync may not reach, a store that is
// missing, does not serve the namespace, or is not Secrets Manager (the
// only service secretsync pushes to). Both run and validate use it.
func PushProblems(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore, opt Options) []Problem {
	var out []Problem
	if !NamespaceAllowed(opt.Namespaces, ps.Namespace) {
		out = append(out, Problem{Field: "metadata.namespace",
			Err: fmt.Errorf("namespace %s is not one secretsync may reach (--namespaces %s)", ps.Namespace, strings.Join(opt.Namespaces, ","))})
	}
	for i, ref := range ps.Spec.SecretStoreRefs {
		field := fmt.Sprintf("spec.secretStoreRefs[%d]", i)
		key := StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name)
		st := stores[key]
		if err := StoreProblem(st, key, ps.Namespace, false, opt.NamespaceLabels); err != nil {
			out = append(out, Problem{Field: field, Err: err})
			continue
		}
		if s := Service(st); !s.Pushes() {
			out = append(out, Problem{Field: field, Err: fmt.Errorf("%s is a %s store: secretsync pushes only to SecretsManager", key, s)})
		}
	}
	return out
}

// SharedRemotes refuses, by PushSecret, the remote secrets (store and
// remote key) that PushSecrets of more than one namespace push to: each
// would overwrite the other's value in turn, so a repo writer of one
// namespace could replace what another team's consumers read. Both run
// and validate use it.
func SharedRemotes(pss []*render.PushSecret) map[string]*Problem {
	nss := map[string]map[string]bool{}
	for _, ps := range pss {
		for _, ref := range ps.Spec.SecretStoreRefs {
			key := StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name).String()
			for _, d := range ps.Spec.Data {
				remote := key + "\x00" + d.Match.RemoteRef.RemoteKey
				if nss[remote] == nil {
					nss[remote] = map[string]bool{}
				}
				nss[remote][ps.Namespace] = true
			}
		}
	}
	out := map[string]*Problem{}
	for _, ps := range pss {
		for _, ref := range ps.Spec.SecretStoreRefs {
			key := StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name).String()
			for i, d := range ps.Spec.Data {
				ns := nss[key+"\x00"+d.Match.RemoteRef.RemoteKey]
				if len(ns) > 1 && out[ps.ID()] == nil {
					out[ps.ID()] = &Problem{Field: fmt.Sprintf("spec.data[%d].match.remoteRef.remoteKey", i),
						Err: fmt.Errorf("remote secret %s in %s is also pushed by a PushSecret of namespace(s) %s: refused for all of them, the remote secret is left as it is",
							d.Match.RemoteRef.RemoteKey, key, strings.Join(slices.Sorted(maps.Keys(ns)), ","))}
				}
			}
		}
	}
	return out
}
