package reconciler

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/google/go-cmp/cmp"
)

// bigInventory has 10,000 entries and statuses with realistic names and
// random-looking version ids, which compress worst.
func bigInventory() Inventory {
	inv := Inventory{Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567"}
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	for i := range 10000 {
		ns := fmt.Sprintf("team-%02d-production", i%20)
		name := fmt.Sprintf("service-%05d-credentials", i)
		inv.Entries = append(inv.Entries, Entry{Namespace: ns, Name: name, ExternalSecret: ns + "/" + name, Source: "overlays/" + ns + "/secrets.yaml"})
		inv.Status = append(inv.Status, Status{ExternalSecret: ns + "/" + name, Source: "overlays/" + ns + "/secrets.yaml", Target: ns + "/" + name,
			LastSync: &now, Ready: true, Reason: "Synced",
			Versions: map[string]string{"prod/" + name: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761, i*40503%65536, i%4096, (i*7)%4096, (i*2246822519)%(1<<48))}})
	}
	return inv
}

func TestTenThousandEntriesFitOneConfigMap(t *testing.T) {
	inv := bigInventory()
	raw, err := encodeInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 entries and statuses: %d bytes gzipped", len(raw))
	if len(raw) > 900<<10 {
		t.Fatalf("10,000 entries encode to %d bytes; a ConfigMap holds 1 MiB", len(raw))
	}
	var back Inventory
	if err := decodeInventory(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inv, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}

func TestTenThousandEntriesAreAcceptedByTheAPIServer(t *testing.T) {
	kube, err := kubernetes.NewForConfig(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	ns := "inventory-size"
	if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{cfg: Config{Instance: "big", InventoryNamespace: ns}, kube: kube}
	inv := bigInventory()
	if err := r.saveInventory(context.Background(), Inventory{}, inv); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.loadInventory(context.Background())
	if err != nil || len(got.Entries) != 10000 || len(got.Status) != 10000 {
		t.Fatalf("loaded %d entries, %d statuses: %v", len(got.Entries), len(got.Status), err)
	}
}
