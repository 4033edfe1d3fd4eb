package reconciler

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
			Versions: inventory.Versions{{"prod/" + name, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761, i*40503%65536, i%4096, (i*7)%4096, (i*2246822519)%(1<<48))}}})
	}
	// In the order a pass writes them.
	slices.SortFunc(inv.Entries, compareEntries)
	slices.SortFunc(inv.Status, func(a, b inventory.Status) int { return strings.Compare(a.ExternalSecret, b.ExternalSecret) })
	return inv
}

func TestTenThousandEntriesFitOneConfigMap(t *testing.T) {
	inv := bigInventory(10000, false)
	raw, err := encodeInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 entries and statuses: %d bytes gzipped", len(raw))
	if len(raw) > 900<<10 {
		t.Fatalf("10,000 entries encode to %d bytes; a ConfigMap holds 1 MiB", len(raw))
	}
	var back inventory.Inventory
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
	inv := bigInventory(10000, false)
	if err := r.saveInventory(context.Background(), &record{}, inv, false, ""); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := r.loadInventory(context.Background(), false)
	if err != nil || len(got.Entries) != 10000 || len(got.Status) != 10000 {
		t.Fatalf("loaded %d entries, %d statuses: %v", len(got.Entries), len(got.Status), err)
	}
	// A fresh reconciler checks the bytes row by row and keeps only them,
	// for the pass to read the rows again, one at a time (or decodes and
	// keeps the rows when asked); one that wrote or kept the same bytes
	// reuses what it holds, and reads again once they change.
	fresh := &Reconciler{cfg: r.cfg, kube: kube}
	got, _, _, err = fresh.loadInventory(context.Background(), false)
	if err != nil || len(got.Entries)+len(got.Status) != 0 || got.raw == nil || !got.sorted || got.Revision != inv.Revision {
		t.Fatalf("a fresh reconciler loaded %d entries (bytes kept: %v, sorted: %v, revision %q): %v", len(got.Entries), got.raw != nil, got.sorted, got.Revision, err)
	}
	kept, _, _, err := fresh.loadInventory(context.Background(), true)
	if err != nil || len(kept.Entries) != 10000 || len(kept.Status) != 10000 || kept.raw != nil || !kept.sorted {
		t.Fatalf("kept %d entries, %d statuses (sorted %v): %v", len(kept.Entries), len(kept.Status), kept.sorted, err)
	}
	held := &record{Inventory: kept.Inventory}
	streamed := got
	for name, seq := range map[string]func(*record) any{
		"entries":  func(o *record) any { return slices.Collect(o.entries()) },
		"statuses": func(o *record) any { return slices.Collect(o.statuses()) },
	} {
		if diff := cmp.Diff(seq(held), seq(streamed)); diff != "" || streamed.err != nil {
			t.Fatalf("%s read again row by row differ (%v): %s", name, streamed.err, diff[:min(len(diff), 500)])
		}
	}
	if !streamed.sameEntries(inv.Entries) || streamed.sameEntries(inv.Entries[1:]) || streamed.sameEntries(append(slices.Clone(inv.Entries), inventory.Entry{Name: "more"})) {
		t.Fatal("sameEntries does not tell the record's entries from others")
	}
	fresh.decoded = decodedInventory{digest: sha256.Sum256(got.raw), inv: inventory.Inventory{Entries: []inventory.Entry{{Namespace: "held", Name: "in-memory"}}}}
	if got, _, _, _ := fresh.loadInventory(context.Background(), false); len(got.Entries) != 1 || got.raw != nil {
		t.Fatalf("the same bytes were decoded again (%d entries), not reused", len(got.Entries))
	}
	inv.Entries = inv.Entries[:9999]
	if err := (&Reconciler{cfg: r.cfg, kube: kube}).saveInventory(context.Background(), &record{}, inv, false, ""); err != nil {
		t.Fatal(err)
	}
	if got, _, _, _ := fresh.loadInventory(context.Background(), true); len(got.Entries) != 9999 {
		t.Fatalf("changed bytes were not decoded: %d entries", len(got.Entries))
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
	raw, err := encodeInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.saveInventory(ctx, &record{}, inv, false, ""); err != nil {
		t.Fatal(err)
	}
	main, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, r.inventoryName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shards := main.Annotations[annotationShards]
	t.Logf("50,000 entries and statuses with long names: %d bytes gzipped, in %s ConfigMaps", len(raw), shards)
	if shards == "" || shards == "1" {
		t.Fatalf("%d bytes in one ConfigMap", len(raw))
	}
	start := time.Now()
	got, _, lost, err := r.loadInventory(ctx, true)
	if err != nil || lost != "" || len(got.Entries) != 50000 || len(got.Status) != 50000 {
		t.Fatalf("loaded %d entries, %d statuses: %v %s", len(got.Entries), len(got.Status), err, lost)
	}
	t.Logf("read back in %s", time.Since(start).Round(time.Millisecond))
	if diff := cmp.Diff(inv.Entries, got.Entries); diff != "" {
		t.Fatalf("entries differ: %s", diff[:min(len(diff), 500)])
	}

	// A shard cut short: the digest no longer matches.
	s1, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, shardName(r.inventoryName(), 1), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s1.BinaryData[inventoryKey] = s1.BinaryData[inventoryKey][:100]
	if _, err := kube.CoreV1().ConfigMaps(ns).Update(ctx, s1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _, lost, err := r.loadInventory(ctx, true); err != nil || !strings.Contains(lost, "do not add up") || len(got.Entries) != 0 {
		t.Fatalf("a damaged shard: %d entries, lost %q, %v", len(got.Entries), lost, err)
	}
}

// Versions is written as the map it replaced was, and read back from it.
func TestVersionsJSONIsTheMapsJSON(t *testing.T) {
	m := map[string]string{"prod/b": "v2", "prod/a#x": "v1", `odd"ref`: "v3"}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v inventory.Versions
	if err := json.Unmarshal(want, &v); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("got %s, want %s", got, want)
	}
	for ref, id := range m {
		if v.Get(ref) != id {
			t.Errorf("Get(%q) = %q, want %q", ref, v.Get(ref), id)
		}
	}
	if v.Get("missing") != "" || len(v.set("prod/a#x", "v4")) != 3 || v.Get("prod/a#x") != "v4" {
		t.Errorf("set replaced nothing or Get found a missing ref: %v", v)
	}
	if got, _ := json.Marshal(inventory.Status{}); strings.Contains(string(got), "versions") {
		t.Errorf("empty versions are written: %s", got)
	}
}

// The record written row by row reads back as encoding/json would read it
// whole, and encoding/json reads it too.
func TestInventoryRecordRoundTrip(t *testing.T) {
	pushed := inventory.Inventory{Revision: "p", Entries: []inventory.Entry{}, Pushed: []inventory.PushRow{{PushSecret: "a/p", Source: "p.yaml", Secret: "a/src", Store: "SecretStore/a/aws", RemoteKey: "k", Property: "x", Delete: true, Ready: true, Reason: "created"}}}
	for _, inv := range []inventory.Inventory{{}, {Revision: "abc", Entries: []inventory.Entry{}}, bigInventory(3, false), pushed} {
		raw, err := encodeInventory(inv)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := checkRecord(raw); err != nil {
			t.Fatalf("checkRecord: %v", err)
		}
		if rows := (&record{raw: raw}).pushed(); !cmp.Equal(rows, inv.Pushed, cmpopts.EquateEmpty()) {
			t.Errorf("pushed rows streamed: %+v, want %+v", rows, inv.Pushed)
		}
		var got inventory.Inventory
		if err := decodeInventory(raw, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(inv, got); diff != "" {
			t.Errorf("round trip (-wrote +read):\n%s", diff)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var whole inventory.Inventory
		if err := json.NewDecoder(zr).Decode(&whole); err != nil || !cmp.Equal(whole, got) {
			t.Errorf("encoding/json reads %+v (%v)", whole, err)
		}
	}
}

// The record holds the status rows before the entries, and `status` reads
// no further than the rows: a record whose entries are cut off still gives
// every row. A record in the order earlier releases wrote (entries first)
// is still read whole.
func TestStatusIsReadBeforeTheEntries(t *testing.T) {
	inv := bigInventory(3, false)
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	raw, err := encodeInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	entries := bytes.Index(plain, []byte(`"entries":`))
	if status := bytes.Index(plain, []byte(`"status":`)); status < 0 || entries < status {
		t.Fatalf("status rows at %d, entries at %d: %.200s", status, entries, plain)
	}
	oldOrder, err := json.Marshal(struct {
		Revision string             `json:"revision"`
		Entries  []inventory.Entry  `json:"entries"`
		Status   []inventory.Status `json:"status"`
	}{inv.Revision, inv.Entries, inv.Status})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		record      []byte
		wholeBroken bool
	}{
		"written":         {raw, false},
		"entries cut off": {gz(string(plain[:entries]) + `"entries":[{"namespace":"ns`), true},
		"entries first":   {gz(string(oldOrder)), false},
	} {
		cm := &corev1.ConfigMap{BinaryData: map[string][]byte{inventoryKey: c.record}}
		var rows []inventory.Status
		rev, err := ReadStatus(context.Background(), nil, cm, func(st inventory.Status) { rows = append(rows, st) })
		if err != nil || rev != inv.Revision || !cmp.Equal(rows, inv.Status) {
			t.Errorf("%s: status read revision %q and %d rows (%v)", name, rev, len(rows), err)
		}
		rows = nil
		if err := streamField(c.record, "status", func(st inventory.Status) bool { rows = append(rows, st); return true }); err != nil || !cmp.Equal(rows, inv.Status) {
			t.Errorf("%s: streamed %d status rows (%v)", name, len(rows), err)
		}
		var whole inventory.Inventory
		if err := decodeInventory(c.record, &whole); (err != nil) != c.wholeBroken || (!c.wholeBroken && !cmp.Equal(whole, inv)) {
			t.Errorf("%s: read whole: %v", name, err)
		}
	}
}
