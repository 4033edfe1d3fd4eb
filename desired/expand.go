package desired

import (
	"fmt"

	"github.com/secretsync/secretsync/render"
)

// Namespace is a namespace as ClusterExternalSecrets see it.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Expand adds to set one ExternalSecret per namespace each
// ClusterExternalSecret chooses among namespaces, as ESO makes them. An
// ExternalSecret it would make where one of that namespace and name
// already is (in Git, or from another ClusterExternalSecret) is not made:
// it is an error of the ClusterExternalSecret, which ESO also reports for
// that namespace, and like every render error it blocks prune.
func Expand(set *render.Set, namespaces []Namespace) {
	taken := map[string]string{}
	for _, es := range set.ExternalSecrets {
		taken[es.Namespace+"/"+es.Name] = "ExternalSecret in " + es.Source
	}
	for _, c := range set.ClusterExternalSecrets {
		for _, ns := range namespaces {
			if !c.Selects(ns.Name, ns.Labels) {
				continue
			}
			es := c.Expand(ns.Name)
			id := es.Namespace + "/" + es.Name
			if by, dup := taken[id]; dup {
				set.Errors = append(set.Errors, &render.ObjectError{Source: c.Source, Kind: render.KindClusterExternalSecret, Name: c.Name,
					Field: "spec.externalSecretName", Err: fmt.Errorf("it would make ExternalSecret %s, which the %s already defines; it is not made there", id, by)})
				continue
			}
			taken[id] = "ClusterExternalSecret " + c.Name + " in " + c.Source
			set.ExternalSecrets = append(set.ExternalSecrets, es)
		}
	}
}

// NamedNamespaces are the namespaces ClusterExternalSecrets name in
// spec.namespaces, for the review commands, which see no cluster: what
// namespaceSelectors choose is known only at run time.
func NamedNamespaces(set *render.Set) []Namespace {
	seen := map[string]bool{}
	var out []Namespace
	for _, c := range set.ClusterExternalSecrets {
		for _, n := range c.Spec.Namespaces {
			if !seen[n] {
				seen[n] = true
				out = append(out, Namespace{Name: n})
			}
		}
	}
	return out
}
