package desired

import (
	"fmt"
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
