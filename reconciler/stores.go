package reconciler

import (
	"context"
	"fmt"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// provider builds the provider for a store serving ExternalSecrets of
// namespace serving ("" unless the store is render.Referent); its auth
// reads the cluster through the store's own scope.
func (r *Reconciler) provider(ctx context.Context, st *render.SecretStore, serving string) (providers.Provider, error) {
	return r.providers.ForStore(ctx, st, r.scoped(render.AskerServing(st, serving)))
}

// scoped is the cluster as one manifest object sees it: every namespaced
// read made for a manifest (store and generator auth, templateFrom, merge
// targets, kept generator values) goes through it, and each passes
// render.Asker.Scope before any request leaves, so a provider or feature
// that forgets the rule still cannot read outside it.
type scoped struct {
	r     *Reconciler
	asker render.Asker
}

func (r *Reconciler) scoped(a render.Asker) scoped { return scoped{r: r, asker: a} }

var _ providers.Cluster = scoped{}

func (c scoped) Namespace(named string) (string, error) { return c.asker.Scope(named) }

// secret reads a Secret the asker names.
func (c scoped) secret(ctx context.Context, named, name string) (*corev1.Secret, error) {
	ns, err := c.asker.Scope(named)
	if err != nil {
		return nil, err
	}
	return c.r.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (c scoped) SecretValue(ctx context.Context, ns, name, key string) (providers.Value, error) {
	s, err := c.secret(ctx, ns, name)
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

func (c scoped) ServiceAccountAnnotation(ctx context.Context, named, name, annotation string) (string, error) {
	ns, err := c.asker.Scope(named)
	if err != nil {
		return "", err
	}
	acct, err := c.r.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return acct.Annotations[annotation], nil
}

// ServiceAccountToken fetches a token from the TokenRequest API each time
// it is called: the provider calls it whenever STS credentials are renewed.
func (c scoped) ServiceAccountToken(named, name string, audiences []string) func() ([]byte, error) {
	kube := c.r.kube
	ns, scopeErr := c.asker.Scope(named)
	return func() ([]byte, error) {
		if scopeErr != nil {
			return nil, fmt.Errorf("token request for service account %s/%s: %w", named, name, scopeErr)
		}
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
