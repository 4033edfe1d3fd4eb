package pushsecret_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/render"
)

// barrierSM is a provider whose Push returns only once want pushes are in
// flight together (or ctx ends, which fails the push).
type barrierSM struct {
	mu      sync.Mutex
	want    int
	arrived int
	all     chan struct{}
}

func (b *barrierSM) ID() string                              { return "barrier" }
func (b *barrierSM) Canonical(r providers.Ref) providers.Ref { return r }
func (b *barrierSM) Resolve(context.Context, []providers.Ref) map[providers.Ref]providers.Fetched {
	return nil
}
func (b *barrierSM) DeleteRemote(context.Context, string) (bool, error) { return true, nil }
func (b *barrierSM) Push(ctx context.Context, p providers.Push) (providers.Pushed, error) {
	b.mu.Lock()
	if b.arrived++; b.arrived == b.want {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return providers.Created, nil
	case <-ctx.Done():
		return "", fmt.Errorf("push %s alone: no other push was in flight", p.Key)
	}
}

// Two PushSecrets are pushed concurrently (Concurrency 2): each push
// waits for the other, so pushing them one after another fails both (when
// the context ends). Their rows and Events come back in PushSecret order.
func TestPushSecretsArePushedConcurrentlyAndMergedInOrder(t *testing.T) {
	dir := t.TempDir()
	yaml := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: ns}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	var objs []*corev1.Secret
	for _, n := range []string{"a", "b"} {
		yaml += fmt.Sprintf("---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: ns}\nspec:\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src-%s}}\n  data:\n    - match: {secretKey: k, remoteRef: {remoteKey: remote/%s}}\n", n, n, n)
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src-" + n, Namespace: "ns"}, Data: map[string][]byte{"k": []byte("value-of-" + n)}})
	}
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := render.Render(context.Background(), dir, ".", render.Options{})
	if err != nil || len(set.Errors) > 0 || len(set.PushSecrets) != 2 {
		t.Fatalf("render: %v %v", err, set)
	}
	kube := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}, objs[0], objs[1])
	sm := &barrierSM{want: 2, all: make(chan struct{})}
	var events []string
	var evMu sync.Mutex
	p := pushsecret.New(pushsecret.Config{Kube: kube, Concurrency: 2, Now: time.Now, Guard: inventory.PruneGuard,
		Provider: func(context.Context, *render.SecretStore, string) (providers.Provider, error) { return sm, nil },
		Events: func(_ context.Context, about corev1.ObjectReference, _, reason, _ string) {
			evMu.Lock()
			defer evMu.Unlock()
			events = append(events, reason+" "+about.Name)
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := p.Push(ctx, pushsecret.Pass{Set: set, Redactor: scrub.New()})
	if len(out.Failed) > 0 || out.Pushed != 2 {
		t.Fatalf("pushed %d, failed %v; want both pushed, each while the other was in flight", out.Pushed, out.Failed)
	}
	if len(out.Rows) != 2 || out.Rows[0].PushSecret != "ns/a" || out.Rows[1].PushSecret != "ns/b" || !out.Rows[0].Ready || !out.Rows[1].Ready {
		t.Fatalf("rows %+v; want ns/a then ns/b, both ready", out.Rows)
	}
	if len(events) != 2 {
		t.Fatalf("events %q; want one Pushed each", events)
	}
}
