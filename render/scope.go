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
}

// ErrOutOfScope marks a read the asking object may not make.
var ErrOutOfScope = errors.New("out of scope")

// Scope is the one rule for every namespaced read made for a manifest, as
// ESO's: it returns the namespace a reference of a naming named ("" for
// none) may read, or why not. A namespaced object (SecretStore,
// ExternalSecret, generator) reads only its own namespace; a
// ClusterSecretStore reads the namespace it names, and must name one:
// ESO's referent auth (a reference without namespace reads the namespace of
// the ExternalSecret being served) is not supported, since one provider is
// built per store and pass.
func (a Asker) Scope(named string) (string, error) {
	if a.Kind == KindClusterSecretStore {
		if named == "" {
			return "", fmt.Errorf("%w: a ClusterSecretStore must name the namespace of what it reads (ESO's referent auth, the ExternalSecret's namespace, is not supported)", ErrOutOfScope)
		}
		return named, nil
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

// AskerFor is the asker for an ExternalSecret's own reads (templateFrom,
// merge targets, kept generator values).
func AskerFor(es *ExternalSecret) Asker {
	return Asker{Kind: KindExternalSecret, Namespace: es.Namespace, Name: es.Name}
}

// AskerOfGenerator is the asker for a generator's auth.
func AskerOfGenerator(g *Generator) Asker {
	return Asker{Kind: g.Kind, Namespace: g.Namespace, Name: g.Name}
}

// authScope checks every namespace an AWS auth block names against the
// asker's scope; field is the auth block's path. It returns the first
// refusal's field.
func authScope(a Asker, auth AWSAuth, field string) (string, error) {
	if j := auth.JWT; j != nil && j.ServiceAccountRef != nil {
		if _, err := a.Scope(j.ServiceAccountRef.Namespace); err != nil {
			return field + ".jwt.serviceAccountRef.namespace", err
		}
	}
	if r := auth.SecretRef; r != nil {
		for _, s := range []struct {
			name string
			sel  *SecretKeySelector
		}{{"accessKeyIDSecretRef", &r.AccessKeyID}, {"secretAccessKeySecretRef", &r.SecretAccessKey}, {"sessionTokenSecretRef", r.SessionToken}} {
			if s.sel == nil {
				continue
			}
			if _, err := a.Scope(s.sel.Namespace); err != nil {
				return field + ".secretRef." + s.name + ".namespace", err
			}
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
