package reconciler

import (
	"context"
	"fmt"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// provider builds the provider for a store; its auth reads the cluster
// through the Reconciler (providers.Cluster).
func (r *Reconciler) provider(ctx context.Context, st *render.SecretStore) (providers.Provider, error) {
	return r.providers.ForStore(ctx, st, kubeCluster{r})
}

// kubeCluster is the cluster as a store's auth sees it.
type kubeCluster struct{ r *Reconciler }

var _ providers.Cluster = kubeCluster{}

func (c kubeCluster) SecretValue(ctx context.Context, ns, name, key string) (providers.Value, error) {
	s, err := c.r.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return providers.Value{}, fmt.Errorf("credentials secret %s/%s not found", ns, name)
		}
		return providers.Value{}, fmt.Errorf("read credentials secret %s/%s: %w", ns, name, err)
	}
	b, ok := s.Data[key]
	if !ok {
		return providers.Value{}, fmt.Errorf("credentials secret %s/%s has no key %q", ns, name, key)
	}
	return providers.NewValue(b), nil
}

func (c kubeCluster) ServiceAccountAnnotation(ctx context.Context, ns, name, annotation string) (string, error) {
	acct, err := c.r.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return acct.Annotations[annotation], nil
}

// ServiceAccountToken fetches a token from the TokenRequest API each time
// it is called: the provider calls it whenever STS credentials are renewed.
func (c kubeCluster) ServiceAccountToken(ns, name string, audiences []string) func() ([]byte, error) {
	kube := c.r.kube
	return func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		expiry := int64(600)
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{
			Spec: authv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("token request for service account %s/%s: %w", ns, name, err)
		}
		return []byte(tr.Status.Token), nil
	}
}
