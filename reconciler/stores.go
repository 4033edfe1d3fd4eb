package reconciler

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/render"
)

// ProviderFactory makes a provider for one AWS store; *aws.Factory is one.
type ProviderFactory interface {
	Provider(ctx context.Context, st aws.Store) (providers.Provider, error)
}

type storeKey struct{ kind, namespace, name string }

func (k storeKey) String() string {
	if k.kind == render.KindClusterSecretStore {
		return k.kind + "/" + k.name
	}
	return k.kind + "/" + k.namespace + "/" + k.name
}

// storeFor names the store that serves an entry: its own sourceRef.storeRef
// or else the ExternalSecret's secretStoreRef.
func storeFor(es *render.ExternalSecret, src *render.SourceRef) storeKey {
	ref := es.Spec.SecretStoreRef
	if src != nil && src.StoreRef != nil {
		ref = *src.StoreRef
	}
	k := storeKey{kind: ref.Kind, namespace: es.Namespace, name: ref.Name}
	if k.kind == "" {
		k.kind = render.KindSecretStore
	}
	if k.kind == render.KindClusterSecretStore {
		k.namespace = ""
	}
	return k
}

func indexStores(set *render.Set) map[storeKey]*render.SecretStore {
	out := make(map[storeKey]*render.SecretStore, len(set.Stores))
	for _, st := range set.Stores {
		out[storeKey{st.Kind, st.Namespace, st.Name}] = st
	}
	return out
}

// provider builds the provider for a store, reading static credentials
// from the Secret its auth.secretRef names.
func (r *Reconciler) provider(ctx context.Context, st *render.SecretStore) (providers.Provider, error) {
	a := st.Spec.Provider.AWS
	cfg := aws.Store{Service: a.Service, Region: a.Region, Prefix: a.Prefix, KMSKeyID: a.KMSKeyID}
	if ref := a.Auth.SecretRef; ref != nil {
		read := func(sel render.SecretKeySelector) (providers.Value, error) {
			ns := sel.Namespace
			if ns == "" {
				ns = st.Namespace
			}
			s, err := r.kube.CoreV1().Secrets(ns).Get(ctx, sel.Name, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) {
					return providers.Value{}, fmt.Errorf("credentials secret %s/%s not found", ns, sel.Name)
				}
				return providers.Value{}, fmt.Errorf("read credentials secret %s/%s: %w", ns, sel.Name, err)
			}
			b, ok := s.Data[sel.Key]
			if !ok {
				return providers.Value{}, fmt.Errorf("credentials secret %s/%s has no key %q", ns, sel.Name, sel.Key)
			}
			return providers.NewValue(b), nil
		}
		var creds aws.Credentials
		var err error
		if creds.AccessKeyID, err = read(ref.AccessKeyID); err != nil {
			return nil, err
		}
		if creds.SecretAccessKey, err = read(ref.SecretAccessKey); err != nil {
			return nil, err
		}
		if ref.SessionToken != nil {
			if creds.SessionToken, err = read(*ref.SessionToken); err != nil {
				return nil, err
			}
		}
		cfg.Credentials = &creds
	}
	return r.providers.Provider(ctx, cfg)
}
