package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
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
	a, b := ShapeOf(secret("user", "password"), AnnotationDataHash, true), ShapeOf(secret("password", "user"), AnnotationDataHash, true)
	if a != b {
		t.Error("two Secrets with the same keys got two shapes")
	}
	c := ShapeOf(secret("user"), AnnotationDataHash, true)
	if c == a || len(c.data) != 1 || len(a.data) != 2 {
		t.Errorf("different keys share a shape: %v and %v", a.data, c.data)
	}
	if d := ShapeOf(secret("user", "password"), AnnotationDataHash, false); d == a {
		t.Error("an untyped shape is shared with a typed one")
	}
}

// The hash's framing is written without fmt, and hashes exactly the bytes
// it did with fmt: a changed hash would rewrite every managed Secret once.
func TestShapeHashIsStable(t *testing.T) {
	withFmt := func(sh *Shape, s *corev1.Secret) string {
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
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api", "tier": ""}, Annotations: map[string]string{"note": long, AnnotationDataHash: "h", inventory.AnnotationRevision: "r"}}}
	for _, typed := range []bool{true, false} {
		sh := ShapeOf(s, AnnotationDataHash, typed)
		if got, want := sh.Hash(s), withFmt(sh, s); got != want {
			t.Errorf("typed %v: hash %s, with fmt %s", typed, got, want)
		}
		other := s.DeepCopy() // keys missing from the live Secret
		delete(other.Data, "user")
		delete(other.Labels, "app")
		if got, want := sh.Hash(other), withFmt(sh, other); got != want {
			t.Errorf("typed %v, keys missing: hash %s, with fmt %s", typed, got, want)
		}
	}
}
