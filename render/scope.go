package render

import (
	"errors"
	"fmt"
)

// Asker is the manifest object on whose behalf secretsync reads a
// namespaced object of the cluster: a store's or a generator's auth Secret
// or service account, an ExternalSecret's templateFrom source, merge target
// or kept generator state.
type Asker struct {
	// Kind is SecretStore, ClusterSecretStore, ExternalSecret or a
	// generator kind (Password, STSSessionToken, ...).
	Kind string
	// Namespace is the object's own; empty for a ClusterSecretStore.
	Namespace string
	// Name is the object's name, for messages.
	Name string
	// Serving is the namespace of the ExternalSecret a ClusterSecretStore
	// serves (set only then): what a reference naming no namespace reads,
	// as ESO's referent auth.
	Serving string
}

// ErrOutOfScope marks a read the asking object may not make.
var ErrOutOfScope = errors.New("out of scope")

// ErrNotServing marks, within ErrOutOfScope, a referent reference (a
// ClusterSecretStore's naming no namespace) read for no ExternalSecret:
// there is no namespace to read. validate, which checks a store alone,
// accepts it, as ESO's does.
var ErrNotServing = errors.New("serves no ExternalSecret")

// Scope is the one rule for every namespaced read made for a manifest, as
// ESO's: it returns the namespace a reference of a naming named ("" for
// none) may read, or why not. A namespaced object (SecretStore,
// ExternalSecret, generator) reads only its own namespace; a
// ClusterSecretStore reads the namespace it names, and where it names none
// the namespace of the ExternalSecret it serves (ESO's referent auth), so
// its provider is made per store and served namespace (Referent).
func (a Asker) Scope(named string) (string, error) {
	if a.Kind == KindClusterSecretStore {
		if named != "" {
			return named, nil
		}
		if a.Serving == "" {
			return "", fmt.Errorf("%w: %w: ClusterSecretStore %s names no namespace, so it reads that of the ExternalSecret it serves", ErrOutOfScope, ErrNotServing, a.Name)
		}
		return a.Serving, nil
	}
	if a.Namespace == "" {
		return "", fmt.Errorf("%w: %s %s has no namespace to read in", ErrOutOfScope, a.Kind, a.Name)
	}
	if named != "" && named != a.Namespace {
		return "", fmt.Errorf("%w: %s %s/%s may only read its own namespace %s, not %s", ErrOutOfScope, a.Kind, a.Namespace, a.Name, a.Namespace, named)
	}
	return a.Namespace, nil
}

// AskerOf is the asker for a store.
func AskerOf(st *SecretStore) Asker {
	return Asker{Kind: st.Kind, Namespace: st.Namespace, Name: st.Name}
}

// AskerServing is the asker for a store serving an ExternalSecret of
// namespace ns: a ClusterSecretStore's references naming no namespace read
// ns.
func AskerServing(st *SecretStore, ns string) Asker {
	a := AskerOf(st)
	if st.Kind == KindClusterSecretStore {
		a.Serving = ns
	}
	return a
}

// Referent reports whether a store depends on the namespace of the
// ExternalSecret it serves (a ClusterSecretStore with a reference naming no
// namespace, or whose sessionTagsPolicy tags the session with it): its
// provider and credentials are that namespace's, so one is made, and
// values fetched, per served namespace, never shared across them.
func Referent(st *SecretStore) bool {
	if st.Kind != KindClusterSecretStore || st.Spec.Provider.AWS == nil {
		return false // only a ClusterSecretStore's scope has a served namespace
	}
	if st.Spec.Provider.AWS.TagsByPolicy() {
		return true
	}
	a := AskerOf(st)
	for _, r := range authRefs(st.Spec.Provider.AWS.Auth) {
		if _, err := a.Scope(r.namespace); errors.Is(err, ErrNotServing) {
			return true
		}
	}
	return false
}

// AskerFor is the asker for an ExternalSecret's own reads (templateFrom,
// merge targets, kept generator values).
func AskerFor(es *ExternalSecret) Asker {
	return Asker{Kind: KindExternalSecret, Namespace: es.Namespace, Name: es.Name}
}

// AskerOfGenerator is the asker for a generator's auth.
func AskerOfGenerator(g *Generator) Asker {
	return Asker{Kind: g.Kind, Namespace: g.Namespace, Name: g.Name}
}

// authRef is one namespace an AWS auth block names, with its field.
type authRef struct{ field, namespace string }

// authRefs lists the namespaces an AWS auth block names ("" for none).
func authRefs(auth AWSAuth) []authRef {
	var out []authRef
	if j := auth.JWT; j != nil && j.ServiceAccountRef != nil {
		out = append(out, authRef{".jwt.serviceAccountRef.namespace", j.ServiceAccountRef.Namespace})
	}
	if r := auth.SecretRef; r != nil {
		out = append(out, authRef{".secretRef.accessKeyIDSecretRef.namespace", r.AccessKeyID.Namespace},
			authRef{".secretRef.secretAccessKeySecretRef.namespace", r.SecretAccessKey.Namespace})
		if r.SessionToken != nil {
			out = append(out, authRef{".secretRef.sessionTokenSecretRef.namespace", r.SessionToken.Namespace})
		}
	}
	return out
}

// authScope checks every namespace an AWS auth block names against the
// asker's scope; field is the auth block's path. It returns the first
// refusal's field. A referent reference is accepted: it is checked when
// it serves an ExternalSecret.
func authScope(a Asker, auth AWSAuth, field string) (string, error) {
	for _, r := range authRefs(auth) {
		if _, err := a.Scope(r.namespace); err != nil && !errors.Is(err, ErrNotServing) {
			return field + r.field, err
		}
	}
	return "", nil
}

// The Secret types whose mere existence grants access: the API server's
// token controller fills a service-account-token Secret naming a service
// account with a long-lived token for it, and a bootstrap token joins
// nodes to the cluster.
const (
	SecretTypeServiceAccountToken = "kubernetes.io/service-account-token"
	SecretTypeBootstrapToken      = "bootstrap.kubernetes.io/token"
	// AnnotationServiceAccountName names the service account a token
	// Secret is for.
	AnnotationServiceAccountName = "kubernetes.io/service-account.name"
)

// InventoryPrefix starts the name of every instance's inventory ConfigMap
// and of its shards: no ConfigMap target may take one of those names, whose
// rows decide what is pruned and when values are fetched again.
const InventoryPrefix = "secretsync-inventory-"

// PrivilegedSecret is the one rule, as ESO 2.9.0's, for Secrets secretsync
// never writes: a bootstrap token, and a service-account token that names
// (or, when annotationsFromTemplates, may name through templateFrom) its
// service account. validate checks it on a template's literal type and
// annotations; the build checks it again on the Secret as rendered.
func PrivilegedSecret(typ string, annotations map[string]string, annotationsFromTemplates bool) error {
	switch typ {
	case SecretTypeBootstrapToken:
		return fmt.Errorf("type %s is refused: it would let a repo writer make a bootstrap token that joins nodes to the cluster", typ)
	case SecretTypeServiceAccountToken:
		if _, ok := annotations[AnnotationServiceAccountName]; ok {
			return fmt.Errorf("type %s with annotation %s is refused: the API server would fill it with a long-lived token for that service account", typ, AnnotationServiceAccountName)
		}
		if annotationsFromTemplates {
			return fmt.Errorf("type %s with a templateFrom that targets Annotations is refused: it could name a service account and receive its long-lived token", typ)
		}
	}
	return nil
}
