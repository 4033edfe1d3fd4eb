package pushsecret_test

import (
	"context"
	"os"
	"path/filepath"
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

// A PushSecret in secretsync's own namespace is refused, and an AWS event
// naming the remote secret it names makes it no more due: the Pusher
// reacts to no PushSecret there (its refusal is not run again, with a new
// Event, for every such event).
func TestAnAWSEventNeverTouchesAPushSecretInSecretsyncsOwnNamespace(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(storeYAML+pushYAML(fromSource, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := render.Render(context.Background(), dir, ".", render.Options{})
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("render: %v %v", err, set.Errors)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sm := &countingSM{remote: map[string]string{}}
	p := pushsecret.New(pushsecret.Config{Kube: fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}),
		OwnNamespaces: []string{"ns"}, Concurrency: 1, Now: func() time.Time { return now }, Guard: inventory.PruneGuard,
		Provider: func(context.Context, *render.SecretStore, string) (providers.Provider, error) { return sm, nil },
		Events:   func(context.Context, corev1.ObjectReference, string, string, string) {}})
	out := p.Push(context.Background(), pushsecret.Pass{Set: set, Redactor: scrub.New()})
	if len(out.Failed) != 1 || sm.take() != 0 {
		t.Fatalf("failed %v; want ns/p refused, nothing pushed", out.Failed)
	}
	if touched := p.Touch([]string{"remote/p"}); len(touched) != 0 {
		t.Fatalf("an AWS event touched %q in secretsync's own namespace", touched)
	}
	if p.Due(context.Background(), scrub.New()) {
		t.Fatal("the refused PushSecret is due after the event")
	}
}
