// Package cluster is the Kubernetes API as a pass reaches it: reads scoped
// to one manifest object (Scoped), the writes of managed targets
// (Targets) and Events (Recorder). It decides nothing: what to read,
// write or record is the caller's.
package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Scoped is the cluster as one manifest object sees it: every namespaced
// read made for a manifest (store and generator auth, templateFrom, merge
// targets, kept generator values, PushSecret sources) goes through it, and
// each passes render.Asker.Scope before any request leaves, so a provider
// or feature that forgets the rule still cannot read outside it.
type Scoped struct {
	kube  kubernetes.Interface
	asker render.Asker
	// red learns what templateFrom reads, so that the pass's outlets
	// scrub it; nil learns nothing.
	red *scrub.Redactor
}

// NewScoped returns the cluster as the asker sees it.
func NewScoped(kube kubernetes.Interface, a render.Asker, red *scrub.Redactor) Scoped {
	return Scoped{kube: kube, asker: a, red: red}
}

var (
	_ providers.Cluster       = Scoped{}
	_ desired.TemplateSources = Scoped{}
)

// Namespace is the namespace a read naming named reaches, or the scope's refusal.
func (c Scoped) Namespace(named string) (string, error) { return c.asker.Scope(named) }

// SecretObject reads a Secret the asker names.
func (c Scoped) SecretObject(ctx context.Context, named, name string) (*corev1.Secret, error) {
	ns, err := c.asker.Scope(named)
	if err != nil {
		return nil, err
	}
	return c.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

// Secrets lists the Secrets of the asker's own namespace that sel matches.
func (c Scoped) Secrets(ctx context.Context, sel *metav1.LabelSelector) ([]corev1.Secret, error) {
	ns, err := c.asker.Scope("")
	if err != nil {
		return nil, err
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	list, err := c.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// SecretValue is one key of a credentials Secret.
func (c Scoped) SecretValue(ctx context.Context, ns, name, key string) (providers.Value, error) {
	s, err := c.SecretObject(ctx, ns, name)
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

// ServiceAccountAnnotation reads one annotation of a service account.
func (c Scoped) ServiceAccountAnnotation(ctx context.Context, named, name, annotation string) (string, error) {
	ns, err := c.asker.Scope(named)
	if err != nil {
		return "", err
	}
	acct, err := c.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return acct.Annotations[annotation], nil
}

// ServiceAccountToken fetches a token from the TokenRequest API each time
// it is called: the provider calls it whenever STS credentials are renewed.
func (c Scoped) ServiceAccountToken(named, name string, audiences []string) func() ([]byte, error) {
	kube := c.kube
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

// ConfigMap reads a templateFrom ConfigMap's data.
func (c Scoped) ConfigMap(ctx context.Context, named, name string) (map[string]string, error) {
	ns, err := c.asker.Scope(named)
	if err != nil {
		return nil, err
	}
	cm, err := c.kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, v := range cm.Data {
		c.red.AddString(v)
	}
	return cm.Data, nil
}

// Secret reads a templateFrom Secret's data.
func (c Scoped) Secret(ctx context.Context, named, name string) (map[string]string, error) {
	sec, err := c.SecretObject(ctx, named, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		c.red.Add(v)
		out[k] = string(v)
	}
	return out, nil
}

// NamespaceLabels reads a namespace's labels for a store's
// namespaceSelector: only when one needs them, once per namespace for the
// life of the function returned (a pass), which is safe for concurrent use.
func NamespaceLabels(ctx context.Context, kube kubernetes.Interface) desired.NamespaceLabels {
	var mu sync.Mutex
	read := map[string]labels.Set{}
	return func(ns string) (labels.Set, error) {
		mu.Lock()
		defer mu.Unlock()
		if set, ok := read[ns]; ok {
			return set, nil
		}
		n, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		read[ns] = labels.Set(n.Labels)
		return read[ns], nil
	}
}

// Namespaces lists the namespaces of the cluster that are not being
// deleted, with their labels, for the ClusterExternalSecrets to match.
func Namespaces(ctx context.Context, kube kubernetes.Interface) ([]desired.Namespace, error) {
	list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]desired.Namespace, 0, len(list.Items))
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil {
			out = append(out, desired.Namespace{Name: ns.Name, Labels: ns.Labels})
		}
	}
	return out, nil
}
