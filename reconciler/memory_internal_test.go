package reconciler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
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

// Each new row takes its previous row, found by ExternalSecret, whether
// the record is held decoded or as its bytes, and whether its rows are in
// order or were edited out of it; a row asked twice (two new rows of one
// ExternalSecret) gets the same previous row. same tells a record whose
// every row was paired, in order, from one out of order, with rows left
// over, or with a row missing.
func TestCarryPairsEachRowWithItsPrevious(t *testing.T) {
	prev := []inventory.Status{{ExternalSecret: "a/x", Target: "a/x", Reason: "1"}, {ExternalSecret: "b/y", Target: "b/y", Reason: "2"}, {ExternalSecret: "c/z", Target: "c/z", Reason: "3"}}
	raw, err := inventory.Encode(inventory.Inventory{Revision: "r", Status: prev})
	if err != nil {
		t.Fatal(err)
	}
	held := func(rows ...inventory.Status) *record {
		return &record{Record: &inventory.Record{Inventory: inventory.Inventory{Status: rows}}}
	}
	bytes, err := inventory.Checked(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Invalid rows (no target) take their previous row's target, so the
	// pairing shows in out.
	invalid := func(ids ...string) []inventory.Status {
		out := make([]inventory.Status, len(ids))
		for i, id := range ids {
			out[i] = inventory.Status{ExternalSecret: id}
		}
		return out
	}
	cases := []struct {
		name   string
		old    *record
		ids    []string
		paired []string // the target each new row took
		same   bool
	}{
		{"held", held(prev...), []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"bytes", &record{Record: bytes}, []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"unsorted", held(prev[2], prev[0], prev[1]), []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"a row not there", held(prev...), []string{"a/w", "a/x", "b/y", "c/z"}, []string{"", "a/x", "b/y", "c/z"}, false},
		{"asked twice", held(prev...), []string{"a/x", "b/y", "c/z", "c/z"}, []string{"a/x", "b/y", "c/z", "c/z"}, false},
		{"a row passed by", held(prev...), []string{"b/y", "c/z"}, []string{"b/y", "c/z"}, false},
		{"rows left", held(prev...), []string{"a/x"}, []string{"a/x"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := invalid(c.ids...)
			_, same, err := carry(out, c.old, &Result{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range out {
				if st.Target != c.paired[i] {
					t.Errorf("%s took the row of %q, want %q", c.ids[i], st.Target, c.paired[i])
				}
			}
			if same != c.same {
				t.Errorf("same = %v, want %v", same, c.same)
			}
		})
	}
	// The same rows, in order, every one paired, are the same.
	out := slices.Clone(prev)
	if _, same, err := carry(out, &record{Record: bytes}, &Result{}, nil); !same || err != nil {
		t.Errorf("the rows written again are not the same (%v)", err)
	}
	if _, same, _ := carry(slices.Clone(prev), held(prev[2], prev[0], prev[1]), &Result{}, nil); same {
		t.Error("rows out of order are the same as rows in order")
	}
	if _, same, _ := carry(slices.Clone(prev), held(prev[0], prev[1], prev[1], prev[2]), &Result{}, nil); same {
		t.Error("a record with two rows of one ExternalSecret is the same")
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
