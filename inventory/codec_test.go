package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// bigInventory has n entries and statuses with realistic names (padded
// to 63 characters when long is set) and random-looking version ids, which
// compress worst.
func bigInventory(n int, long bool) Inventory {
	inv := Inventory{Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567"}
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	for i := range n {
		ns := fmt.Sprintf("team-%02d-production", i%20)
		name := fmt.Sprintf("service-%05d-credentials", i)
		if long {
			ns = fmt.Sprintf("%-56s-%02d", "team-with-a-long-name-for-its-namespace", i%20)
			name = fmt.Sprintf("%-51s-%05d-creds", "service-with-a-rather-long-descriptive-name", i)
			ns, name = strings.ReplaceAll(ns, " ", "x"), strings.ReplaceAll(name, " ", "x")
		}
		inv.Entries = append(inv.Entries, Entry{Namespace: ns, Name: name, ExternalSecret: ns + "/" + name, Source: "overlays/" + ns + "/secrets.yaml"})
		inv.Status = append(inv.Status, Status{ExternalSecret: ns + "/" + name, Source: "overlays/" + ns + "/secrets.yaml", Target: ns + "/" + name,
			LastSync: &now, Ready: true, Reason: "Synced",
			Versions: Versions{{"prod/" + name, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761, i*40503%65536, i%4096, (i*7)%4096, (i*2246822519)%(1<<48))}}})
	}
	// In the order a pass writes them.
	slices.SortFunc(inv.Entries, func(a, b Entry) int { return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name) })
	slices.SortFunc(inv.Status, func(a, b Status) int { return strings.Compare(a.ExternalSecret, b.ExternalSecret) })
	return inv
}

func TestTenThousandEntriesFitOneConfigMap(t *testing.T) {
	inv := bigInventory(10000, false)
	raw, err := Encode(inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 entries and statuses: %d bytes gzipped", len(raw))
	if len(raw) > 900<<10 {
		t.Fatalf("10,000 entries encode to %d bytes; a ConfigMap holds 1 MiB", len(raw))
	}
	back, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inv, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}

// Versions is written as the map it replaced was, and read back from it.
func TestVersionsJSONIsTheMapsJSON(t *testing.T) {
	m := map[string]string{"prod/b": "v2", "prod/a#x": "v1", `odd"ref`: "v3"}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v Versions
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
	if v.Get("missing") != "" || len(v.Set("prod/a#x", "v4")) != 3 || v.Get("prod/a#x") != "v4" {
		t.Errorf("set replaced nothing or Get found a missing ref: %v", v)
	}
	if got, _ := json.Marshal(Status{}); strings.Contains(string(got), "versions") {
		t.Errorf("empty versions are written: %s", got)
	}
}

// The record written row by row reads back as encoding/json would read it
// whole, and encoding/json reads it too.
func TestInventoryRecordRoundTrip(t *testing.T) {
	pushed := Inventory{Revision: "p", Entries: []Entry{}, Pushed: []PushRow{{PushSecret: "a/p", Source: "p.yaml", Secret: "a/src", Store: "SecretStore/a/aws", RemoteKey: "k", Property: "x", Delete: true, Generator: "Password/p@abc", Ready: true, Reason: "created"}}}
	for _, inv := range []Inventory{{}, {Revision: "abc", Entries: []Entry{}}, bigInventory(3, false), pushed} {
		raw, err := Encode(inv)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Checked(raw)
		if err != nil || rec.Revision != inv.Revision {
			t.Fatalf("Checked: revision %q, %v", rec.Revision, err)
		}
		if rows, err := rec.Pushed(); err != nil || !cmp.Equal(rows, inv.Pushed, cmpopts.EquateEmpty()) {
			t.Errorf("pushed rows streamed: %+v, want %+v (%v)", rows, inv.Pushed, err)
		}
		got, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(inv, got); diff != "" {
			t.Errorf("round trip (-wrote +read):\n%s", diff)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var whole Inventory
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
	raw, err := Encode(inv)
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
		Revision string   `json:"revision"`
		Entries  []Entry  `json:"entries"`
		Status   []Status `json:"status"`
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
		cm := &corev1.ConfigMap{BinaryData: map[string][]byte{DataKey: c.record}}
		var rows []Status
		rev, err := ReadStatus(context.Background(), nil, cm, nil, func(st Status) { rows = append(rows, st) })
		if err != nil || rev != inv.Revision || !cmp.Equal(rows, inv.Status) {
			t.Errorf("%s: status read revision %q and %d rows (%v)", name, rev, len(rows), err)
		}
		rows = nil
		if err := streamField(c.record, "status", func(st Status) bool { rows = append(rows, st); return true }); err != nil || !cmp.Equal(rows, inv.Status) {
			t.Errorf("%s: streamed %d status rows (%v)", name, len(rows), err)
		}
		whole, err := Decode(c.record)
		if (err != nil) != c.wholeBroken || (!c.wholeBroken && !cmp.Equal(whole, inv)) {
			t.Errorf("%s: read whole: %v", name, err)
		}
	}
}

// `status` reads the push rows in the walk that reads the status rows: the
// record writes them first (null when there are none, so that a reader
// knows), and a record cut off right after its status rows still gives
// both. A record in the order earlier passes wrote (status rows before the
// push rows) still hands every push row over before the first status row.
func TestPushRowsAreReadInTheWalkThatReadsTheStatusRows(t *testing.T) {
	inv := bigInventory(3, false)
	inv.Pushed = []PushRow{{PushSecret: "team-a/db", Store: "SecretStore/team-a/sm", RemoteKey: "db", Ready: true},
		{PushSecret: "team-b/api", Store: "SecretStore/team-b/sm", RemoteKey: "api"}}
	plainOf := func(raw []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return plain
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	raw, err := Encode(inv)
	if err != nil {
		t.Fatal(err)
	}
	plain := plainOf(raw)
	pushedAt, statusAt, entriesAt := bytes.Index(plain, []byte(`"pushed":`)), bytes.Index(plain, []byte(`"status":`)), bytes.Index(plain, []byte(`"entries":`))
	if pushedAt < 0 || statusAt < pushedAt || entriesAt < statusAt {
		t.Fatalf("pushed at %d, status at %d, entries at %d", pushedAt, statusAt, entriesAt)
	}
	none := inv
	none.Pushed = nil
	rawNone, err := Encode(none)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plainOf(rawNone), []byte(`"pushed":null,"status":`)) {
		t.Errorf("a record without push rows does not say so before its status rows: %.120s", plainOf(rawNone))
	}
	oldOrder, err := json.Marshal(struct {
		Revision string    `json:"revision"`
		Status   []Status  `json:"status"`
		Pushed   []PushRow `json:"pushed"`
		Entries  []Entry   `json:"entries"`
	}{inv.Revision, inv.Status, inv.Pushed, inv.Entries})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		record []byte
		pushed []PushRow
	}{
		"written":                 {raw, inv.Pushed},
		"cut after the status":    {gz(append(plain[:entriesAt:entriesAt], `"entries":[{"namespace":"ns`...)), inv.Pushed},
		"without push rows":       {rawNone, nil},
		"status before push rows": {gz(oldOrder), inv.Pushed},
	} {
		cm := &corev1.ConfigMap{BinaryData: map[string][]byte{DataKey: c.record}}
		var pushed []PushRow
		var rows []Status
		pushedFirst := true
		_, err := ReadStatus(context.Background(), nil, cm, func(r PushRow) {
			pushedFirst = pushedFirst && len(rows) == 0
			pushed = append(pushed, r)
		}, func(st Status) { rows = append(rows, st) })
		if err != nil || !cmp.Equal(rows, inv.Status) || !cmp.Equal(pushed, c.pushed) || !pushedFirst {
			t.Errorf("%s: read %d status rows and push rows %+v (first: %v), want %d and %+v (%v)", name, len(rows), pushed, pushedFirst, len(inv.Status), c.pushed, err)
		}
	}
}
