package reconciler

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/render"
)

type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) RoundTrip(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.paths = append(l.paths, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTheClusterAProviderGetsIsBoundToItsAsker: whatever a provider or a
// template source asks for, the cluster it is handed refuses a namespace
// outside the asker's scope before any request leaves; inside it (for a
// referent ClusterSecretStore, the served namespace), the read works.
func TestTheClusterAProviderGetsIsBoundToItsAsker(t *testing.T) {
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"bound-a", "bound-b"} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"id": []byte("id-of-" + ns)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tpl"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	log := &pathLog{}
	cfg := rest.CopyConfig(testConfig)
	cfg.Wrap(log.RoundTrip)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{kube: kube}
	for _, asker := range []render.Asker{
		{Kind: render.KindSTSSessionToken, Namespace: "bound-a", Name: "g"},
		{Kind: render.KindSecretStore, Namespace: "bound-a", Name: "s"},
		{Kind: render.KindExternalSecret, Namespace: "bound-a", Name: "e"},
	} {
		c := r.scoped(asker)
		if _, err := c.SecretValue(ctx, "bound-b", "creds", "id"); !errors.Is(err, render.ErrOutOfScope) {
			t.Fatalf("%s: SecretValue in another namespace: %v", asker.Kind, err)
		}
		if _, err := c.ServiceAccountAnnotation(ctx, "bound-b", "default", "x"); !errors.Is(err, render.ErrOutOfScope) {
			t.Fatalf("%s: ServiceAccountAnnotation in another namespace: %v", asker.Kind, err)
		}
		if _, err := c.ServiceAccountToken("bound-b", "default", nil)(); !errors.Is(err, render.ErrOutOfScope) {
			t.Fatalf("%s: ServiceAccountToken in another namespace: %v", asker.Kind, err)
		}
		if _, err := c.Secret(ctx, "bound-b", "creds"); !errors.Is(err, render.ErrOutOfScope) {
			t.Fatalf("%s: templateFrom Secret in another namespace: %v", asker.Kind, err)
		}
		if _, err := c.ConfigMap(ctx, "bound-b", "tpl"); !errors.Is(err, render.ErrOutOfScope) {
			t.Fatalf("%s: templateFrom ConfigMap in another namespace: %v", asker.Kind, err)
		}
		if v, err := c.SecretValue(ctx, "", "creds", "id"); err != nil || string(v.Bytes()) != "id-of-bound-a" {
			t.Fatalf("%s: its own namespace: %v", asker.Kind, err)
		}
	}
	if v, err := r.scoped(render.Asker{Kind: render.KindClusterSecretStore, Name: "c"}).SecretValue(ctx, "bound-b", "creds", "id"); err != nil || string(v.Bytes()) != "id-of-bound-b" {
		t.Fatalf("a ClusterSecretStore naming a namespace: %v", err)
	}
	if _, err := r.scoped(render.Asker{Kind: render.KindClusterSecretStore, Name: "c"}).SecretValue(ctx, "", "creds", "id"); !errors.Is(err, render.ErrOutOfScope) {
		t.Fatalf("a ClusterSecretStore naming none, serving no ExternalSecret: %v", err)
	}
	if v, err := r.scoped(render.Asker{Kind: render.KindClusterSecretStore, Name: "c", Serving: "bound-a"}).SecretValue(ctx, "", "creds", "id"); err != nil || string(v.Bytes()) != "id-of-bound-a" {
		t.Fatalf("a ClusterSecretStore naming none, serving bound-a: %v", err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, p := range log.paths {
		if p != "GET /api/v1/namespaces/bound-a/secrets/creds" && p != "GET /api/v1/namespaces/bound-b/secrets/creds" {
			t.Errorf("unexpected request %s", p)
		}
	}
	if n := len(log.paths); n != 5 {
		t.Fatalf("%d requests, want 5 (three own reads, one explicit and one referent cluster-store read): %v", n, log.paths)
	}
}
