package reconciler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/render"
)

// Secrets of one shape share it; a different key set gets its own, and the
// shared one still describes only its own keys.
func TestShapesAreShared(t *testing.T) {
	secret := func(keys ...string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"b": "2"}}, Data: map[string][]byte{}}
		for _, k := range keys {
			s.Data[k] = []byte("v")
		}
		return s
	}
	a, b := shapeOf(secret("user", "password"), AnnotationDataHash, true), shapeOf(secret("password", "user"), AnnotationDataHash, true)
	if a != b {
		t.Error("two Secrets with the same keys got two shapes")
	}
	c := shapeOf(secret("user"), AnnotationDataHash, true)
	if c == a || len(c.data) != 1 || len(a.data) != 2 {
		t.Errorf("different keys share a shape: %v and %v", a.data, c.data)
	}
	if d := shapeOf(secret("user", "password"), AnnotationDataHash, false); d == a {
		t.Error("an untyped shape is shared with a typed one")
	}
}

// The previous rows are found by ExternalSecret, asked in order, whether
// the record is held decoded or as its bytes, and whether its rows are in
// order or were edited out of it; unpaired tells a record whose every row
// was asked for from one with rows left over or passed by.
func TestStatusFinder(t *testing.T) {
	sorted := []inventory.Status{{ExternalSecret: "a/x", Reason: "1"}, {ExternalSecret: "b/y", Reason: "2"}, {ExternalSecret: "c/z", Reason: "3"}}
	raw, err := encodeInventory(inventory.Inventory{Revision: "r", Status: sorted})
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]func() *record{
		"held":  func() *record { return &record{Inventory: inventory.Inventory{Status: sorted}, sorted: true} },
		"bytes": func() *record { return &record{raw: raw, sorted: true} },
		"unsorted": func() *record {
			return &record{Inventory: inventory.Inventory{Status: []inventory.Status{sorted[2], sorted[0], sorted[1]}}}
		},
	}
	for name, rec := range records {
		old := rec()
		find, unpaired, stop := old.statusFinder()
		if _, ok := find("a/w"); ok {
			t.Errorf("%s: found a row that is not there", name)
		}
		for _, want := range sorted {
			if got, ok := find(want.ExternalSecret); !ok || got.Reason != want.Reason {
				t.Errorf("%s: %s = %v, %v", name, want.ExternalSecret, got, ok)
			}
		}
		if got, ok := find("c/z"); !ok || got.Reason != "3" {
			t.Errorf("%s: asked again, c/z = %v, %v", name, got, ok)
		}
		if unpaired() != (name == "unsorted") || old.err != nil {
			t.Errorf("%s: every row paired, yet unpaired = %v (%v)", name, unpaired(), old.err)
		}
		stop()

		find, unpaired, stop = rec().statusFinder()
		if _, ok := find("b/y"); !ok || !unpaired() {
			t.Errorf("%s: a/x was passed by, yet unpaired = %v", name, unpaired())
		}
		stop()
		find, unpaired, stop = rec().statusFinder()
		find("a/x")
		if !unpaired() {
			t.Errorf("%s: rows are left, yet unpaired = false", name)
		}
		stop()
	}
}

// compareKeys orders keys exactly as their String forms do, prefixes,
// separators inside names and ConfigMap targets included.
func TestCompareKeysIsStringOrder(t *testing.T) {
	parts := []string{"", "a", "a/b", "a-", "ab", "b", "a (", "z"}
	var keys []targetKey
	for _, ns := range parts {
		for _, name := range parts {
			for _, kind := range []string{"", render.KindConfigMap} {
				keys = append(keys, targetKey{ns, name, kind})
			}
		}
	}
	for _, a := range keys {
		for _, b := range keys {
			if got, want := compareKeys(a, b), strings.Compare(a.String(), b.String()); got != want {
				t.Fatalf("compareKeys(%q, %q) = %d, the strings compare %d", a, b, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { compareKeys(keys[3], keys[len(keys)-1]) }); n != 0 {
		t.Errorf("compareKeys allocates %v times a call", n)
	}
}

// The hash's framing is written without fmt, and hashes exactly the bytes
// it did with fmt: a changed hash would rewrite every managed Secret once.
func TestShapeHashIsStable(t *testing.T) {
	withFmt := func(sh *shape, s *corev1.Secret) string {
		h := sha256.New()
		write := func(b []byte) { fmt.Fprintf(h, "%d:", len(b)); h.Write(b) }
		if sh.typed {
			write([]byte(s.Type))
		}
		fmt.Fprintf(h, "d%d;", len(sh.data))
		for _, k := range sh.data {
			v, ok := s.Data[k]
			if !ok {
				fmt.Fprint(h, "missing;")
			}
			write([]byte(k))
			write(v)
		}
		for _, part := range []struct {
			keys []string
			m    map[string]string
		}{{sh.labels, s.Labels}, {sh.annotations, s.Annotations}} {
			fmt.Fprintf(h, "m%d;", len(part.keys))
			for _, k := range part.keys {
				v, ok := part.m[k]
				if !ok {
					fmt.Fprint(h, "missing;")
				}
				write([]byte(k))
				write([]byte(v))
			}
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	long := strings.Repeat("x", 1234)
	s := &corev1.Secret{Type: corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"user": []byte("admin"), "password": []byte(long), "empty": {}},
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api", "tier": ""}, Annotations: map[string]string{"note": long, AnnotationDataHash: "h", AnnotationRevision: "r"}}}
	for _, typed := range []bool{true, false} {
		sh := shapeOf(s, AnnotationDataHash, typed)
		if got, want := sh.hash(s), withFmt(sh, s); got != want {
			t.Errorf("typed %v: hash %s, with fmt %s", typed, got, want)
		}
		other := s.DeepCopy() // keys missing from the live Secret
		delete(other.Data, "user")
		delete(other.Labels, "app")
		if got, want := sh.hash(other), withFmt(sh, other); got != want {
			t.Errorf("typed %v, keys missing: hash %s, with fmt %s", typed, got, want)
		}
	}
}

// Live Secrets' label and annotation keys, and our repeated values, are
// one copy across Secrets; the maps hold what they held.
func TestShareKeys(t *testing.T) {
	decoded := func() map[string]string { // as a decode makes them: every string its own
		return map[string]string{strings.Clone(LabelInstance): strings.Clone("prod"), strings.Clone("team"): strings.Clone("payments-" + "x")}
	}
	a, b := shareKeys(decoded()), shareKeys(decoded())
	if !maps.Equal(a, decoded()) || !maps.Equal(b, decoded()) {
		t.Fatalf("shared maps differ: %v %v", a, b)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	for k := range a {
		var kb string
		for k2 := range b {
			if k2 == k {
				kb = k2
			}
		}
		if !same(k, kb) {
			t.Errorf("key %q is two copies", k)
		}
	}
	if !same(a[LabelInstance], b[LabelInstance]) {
		t.Error("the instance label's value is two copies")
	}
	if same(a["team"], b["team"]) {
		t.Error("a value of someone else's label was shared (only ours repeat)")
	}
}
