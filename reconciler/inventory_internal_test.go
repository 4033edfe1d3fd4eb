package reconciler

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/inventory"
)

// bigInventory has n entries and statuses with realistic names (padded
// to 63 characters when long is set) and random-looking version ids, which
// compress worst.
func bigInventory(n int, long bool) inventory.Inventory {
	inv := inventory.Inventory{Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567"}
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	for i := range n {
		ns := fmt.Sprintf("team-%02d-production", i%20)
		name := fmt.Sprintf("service-%05d-credentials", i)
		if long {
			ns = fmt.Sprintf("%-56s-%02d", "team-with-a-long-name-for-its-namespace", i%20)
			name = fmt.Sprintf("%-51s-%05d-creds", "service-with-a-rather-long-descriptive-name", i)
			ns, name = strings.ReplaceAll(ns, " ", "x"), strings.ReplaceAll(name, " ", "x")
		}
		inv.Entries = append(inv.Entries, inventory.Entry{Namespace: ns, Name: name, ExternalSecret: ns + "/" + name, Source: "overlays/" + ns + "/secrets.yaml"})
		inv.Status = append(inv.Status, inventory.Status{ExternalSecret: ns + "/" + name, Source: "overlays/" + ns + "/secrets.yaml", Target: ns + "/" + name,
			LastSync: &now, Ready: true, Reason: "Synced",
			Versions: inventory.Versions{{Ref: "prod/" + name, ID: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761, i*40503%65536, i%4096, (i*7)%4096, (i*2246822519)%(1<<48))}}})
	}
	// In the order a pass writes them.
	slices.SortFunc(inv.Entries, inventory.CompareEntries)
	slices.SortFunc(inv.Status, func(a, b inventory.Status) int { return strings.Compare(a.ExternalSecret, b.ExternalSecret) })
	return inv
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
	inv := bigInventory(10000, false)
	if err := r.saveInventory(context.Background(), &record{Record: &inventory.Record{}}, inv, false, ""); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := r.loadInventory(context.Background(), false)
	if err != nil || len(got.Inventory.Entries) != 10000 || len(got.Status) != 10000 {
		t.Fatalf("loaded %d entries, %d statuses: %v", len(got.Inventory.Entries), len(got.Status), err)
	}
	// A fresh reconciler checks the bytes row by row and keeps only them,
	// for the pass to read the rows again, one at a time (or decodes and
	// keeps the rows when asked); one that wrote or kept the same bytes
	// reuses what it holds, and reads again once they change.
	fresh := &Reconciler{cfg: r.cfg, kube: kube}
	got, _, _, err = fresh.loadInventory(context.Background(), false)
	if err != nil || len(got.Inventory.Entries)+len(got.Status) != 0 || got.Raw() == nil || got.Revision != inv.Revision {
		t.Fatalf("a fresh reconciler loaded %d entries (bytes kept: %v, revision %q): %v", len(got.Inventory.Entries), got.Raw() != nil, got.Revision, err)
	}
	kept, _, _, err := fresh.loadInventory(context.Background(), true)
	if err != nil || len(kept.Inventory.Entries) != 10000 || len(kept.Status) != 10000 || kept.Raw() != nil {
		t.Fatalf("kept %d entries, %d statuses: %v", len(kept.Inventory.Entries), len(kept.Status), err)
	}
	if same, err := got.SameEntries(inv.Entries); !same || err != nil {
		t.Fatalf("the entries read again row by row are not the ones written (%v)", err)
	}
	fresh.decoded = decodedInventory{digest: sha256.Sum256(got.Raw()), inv: inventory.Inventory{Entries: []inventory.Entry{{Namespace: "held", Name: "in-memory"}}}}
	if got, _, _, _ := fresh.loadInventory(context.Background(), false); len(got.Inventory.Entries) != 1 || got.Raw() != nil {
		t.Fatalf("the same bytes were decoded again (%d entries), not reused", len(got.Inventory.Entries))
	}
	inv.Entries = inv.Entries[:9999]
	if err := (&Reconciler{cfg: r.cfg, kube: kube}).saveInventory(context.Background(), &record{Record: &inventory.Record{}}, inv, false, ""); err != nil {
		t.Fatal(err)
	}
	if got, _, _, _ := fresh.loadInventory(context.Background(), true); len(got.Inventory.Entries) != 9999 {
		t.Fatalf("changed bytes were not decoded: %d entries", len(got.Inventory.Entries))
	}
}

// TestFiftyThousandEntriesAreShardedAcrossConfigMaps: past one ConfigMap's
// worth, the record is cut into shards the API server accepts, read back
// whole; a shard that is missing or does not match the digest makes the
// record unreadable, so the pass rebuilds from the labelled Secrets
// instead of trusting half of it.
func TestFiftyThousandEntriesAreShardedAcrossConfigMaps(t *testing.T) {
	ctx := context.Background()
	kube, err := kubernetes.NewForConfig(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	ns := "inventory-shards"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{cfg: Config{Instance: "huge", InventoryNamespace: ns}, kube: kube}
	inv := bigInventory(50000, true)
	raw, err := inventory.Encode(inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.saveInventory(ctx, &record{Record: &inventory.Record{}}, inv, false, ""); err != nil {
		t.Fatal(err)
	}
	main, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, r.inventoryName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shards := main.Annotations[inventory.AnnotationShards]
	t.Logf("50,000 entries and statuses with long names: %d bytes gzipped, in %s ConfigMaps", len(raw), shards)
	if shards == "" || shards == "1" {
		t.Fatalf("%d bytes in one ConfigMap", len(raw))
	}
	start := time.Now()
	got, _, lost, err := r.loadInventory(ctx, true)
	if err != nil || lost != "" || len(got.Inventory.Entries) != 50000 || len(got.Status) != 50000 {
		t.Fatalf("loaded %d entries, %d statuses: %v %s", len(got.Inventory.Entries), len(got.Status), err, lost)
	}
	t.Logf("read back in %s", time.Since(start).Round(time.Millisecond))
	if diff := cmp.Diff(inv.Entries, got.Inventory.Entries); diff != "" {
		t.Fatalf("entries differ: %s", diff[:min(len(diff), 500)])
	}

	// A shard cut short: the digest no longer matches.
	s1, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, r.inventoryName()+"-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s1.BinaryData[inventory.DataKey] = s1.BinaryData[inventory.DataKey][:100]
	if _, err := kube.CoreV1().ConfigMaps(ns).Update(ctx, s1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _, lost, err := r.loadInventory(ctx, true); err != nil || !strings.Contains(lost, "do not add up") || len(got.Inventory.Entries) != 0 {
		t.Fatalf("a damaged shard: %d entries, lost %q, %v", len(got.Inventory.Entries), lost, err)
	}
}
