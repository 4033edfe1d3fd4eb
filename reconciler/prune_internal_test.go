package reconciler

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
)

// A record whose entries cannot be read again past its rows (only memory
// can do that to bytes checked when loaded) releases and prunes nothing,
// keeps every entry read, and prune returns the error: before, the Secret
// read before the failure was marked orphaned and the refusal came after.
func TestPruneOfARecordThatCannotBeReadAgainActsOnNothing(t *testing.T) {
	ctx := context.Background()
	r := &Reconciler{cfg: Config{Instance: "prod", Concurrency: 1}}
	mine := func(ns, name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: r.labels(),
			Annotations: map[string]string{AnnotationExternalSecret: ns + "/" + name}}}
	}
	r.kube = fake.NewClientset(mine("a", "orphan"), mine("b", "gone"))
	cut := errors.New("cut")
	old := func(yield func(inventory.Entry, error) bool) {
		_ = yield(inventory.Entry{Namespace: "a", Name: "orphan", ExternalSecret: "a/orphan"}, nil) &&
			yield(inventory.Entry{Namespace: "b", Name: "gone", ExternalSecret: "b/gone"}, nil) &&
			yield(inventory.Entry{}, cut)
	}

	orphan := &render.ExternalSecret{}
	orphan.Namespace, orphan.Name = "a", "orphan"
	orphan.Spec.Target.CreationPolicy = "Orphan"
	set := &render.Set{ExternalSecrets: []*render.ExternalSecret{orphan}}
	res := &Result{}
	next, err := r.prune(ctx, old, set, nil, nil, res)
	if !errors.Is(err, cut) {
		t.Fatalf("prune returned %v, want the read error", err)
	}
	s, _ := r.kube.CoreV1().Secrets("a").Get(ctx, "orphan", metav1.GetOptions{})
	if s == nil || s.Annotations[AnnotationOrphaned] != "" {
		t.Errorf("the Secret read before the failure was released: %v", s)
	}
	if _, err := r.kube.CoreV1().Secrets("b").Get(ctx, "gone", metav1.GetOptions{}); err != nil {
		t.Errorf("a Secret was pruned: %v", err)
	}
	if res.PruneSkipped != "inventory unreadable" || len(next.Entries) != 2 {
		t.Errorf("PruneSkipped %q, %d entries kept", res.PruneSkipped, len(next.Entries))
	}
}
