package reconciler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// Rows are found by ExternalSecret whether the inventory holds them in
// order (binary search) or not (a map).
func TestStatusIndex(t *testing.T) {
	sorted := []Status{{ExternalSecret: "a/x", Reason: "1"}, {ExternalSecret: "b/y", Reason: "2"}, {ExternalSecret: "c/z", Reason: "3"}}
	unsorted := []Status{sorted[2], sorted[0], sorted[1]}
	for name, rows := range map[string][]Status{"sorted": sorted, "unsorted": unsorted} {
		find := statusIndex(rows)
		for _, want := range sorted {
			if got, ok := find(want.ExternalSecret); !ok || got.Reason != want.Reason {
				t.Errorf("%s: %s = %v, %v", name, want.ExternalSecret, got, ok)
			}
		}
		if _, ok := find("b/x"); ok {
			t.Errorf("%s: found a row that is not there", name)
		}
	}
}
