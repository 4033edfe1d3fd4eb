package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
)

// AnnotationDataHash carries the hash of what secretsync wrote in a Secret
// it owns (a merging ExternalSecret's hash has a key of its own).
const AnnotationDataHash = "secretsync.io/data-hash"

// Shape is which parts of a Secret secretsync writes for one
// ExternalSecret, so that the live Secret can be hashed the same way as the
// desired one: an unchanged Secret costs no write, and a hand edit of any of
// those parts is seen as drift. Shapes are shared and never modified.
type Shape struct {
	hashKey     string // the annotation that carries the hash
	typed       bool   // the Secret's type is ours (not with Merge)
	data        []string
	labels      []string
	annotations []string // ours, without the hash and the revision
}

// ShapeOf returns the shape of s, shared with every Secret of the same
// shape: a pass holds one per ExternalSecret in its states and the drift
// watch's expectations, and most are alike.
func ShapeOf(s *corev1.Secret, hashKey string, typed bool) *Shape {
	sh := &Shape{hashKey: hashKey, typed: typed}
	for k := range s.Data {
		sh.data = append(sh.data, k)
	}
	for k := range s.Labels {
		sh.labels = append(sh.labels, k)
	}
	for k := range s.Annotations {
		if k != hashKey && k != inventory.AnnotationRevision {
			sh.annotations = append(sh.annotations, k)
		}
	}
	sort.Strings(sh.data)
	sort.Strings(sh.labels)
	sort.Strings(sh.annotations)
	return shapes.share(sh)
}

// Keys are the data keys the shape covers, sorted; callers must not
// modify them.
func (sh *Shape) Keys() []string { return sh.data }

// HashKey is the annotation that carries the hash.
func (sh *Shape) HashKey() string { return sh.hashKey }

// shapes holds the distinct shapes seen, up to a bound past which it
// starts again: enough for the few shapes a repository uses, with no
// growth from one that makes every shape different.
var shapes = shapeSet{m: map[string]*Shape{}}

type shapeSet struct {
	mu sync.Mutex
	m  map[string]*Shape
}

func (ss *shapeSet) share(sh *Shape) *Shape {
	// Every Secret a pass builds comes here: no fmt on the way.
	var b strings.Builder
	b.WriteString(sh.hashKey)
	b.WriteString(strconv.FormatBool(sh.typed))
	for _, keys := range [][]string{sh.data, sh.labels, sh.annotations} {
		b.WriteString("\x00" + strconv.Itoa(len(keys)))
		for _, k := range keys {
			b.WriteString("\x00" + k)
		}
	}
	key := b.String()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if have, ok := ss.m[key]; ok {
		return have
	}
	if len(ss.m) >= 4096 {
		clear(ss.m)
	}
	ss.m[key] = sh
	return sh
}

// Hash fingerprints the parts of s the shape names, values included. It is
// stored only on the Secret itself, where the values are readable anyway.
// Every Secret built and every live one compared is hashed, so it writes
// its framing with strconv into one buffer, not with fmt; the bytes hashed
// are the same (TestShapeHashIsStable).
func (sh *Shape) Hash(s *corev1.Secret) string {
	h := sha256.New()
	var buf []byte
	frame := func(prefix string, n int, suffix byte) {
		buf = append(buf[:0], prefix...)
		buf = strconv.AppendInt(buf, int64(n), 10)
		h.Write(append(buf, suffix))
	}
	write := func(b []byte) { frame("", len(b), ':'); h.Write(b) }
	writeString := func(v string) { frame("", len(v), ':'); buf = append(buf[:0], v...); h.Write(buf) }
	if sh.typed {
		writeString(string(s.Type))
	}
	frame("d", len(sh.data), ';')
	for _, k := range sh.data {
		v, ok := s.Data[k]
		if !ok {
			h.Write([]byte("missing;"))
		}
		writeString(k)
		write(v)
	}
	for _, part := range [2]struct {
		keys []string
		m    map[string]string
	}{{sh.labels, s.Labels}, {sh.annotations, s.Annotations}} {
		frame("m", len(part.keys), ';')
		for _, k := range part.keys {
			v, ok := part.m[k]
			if !ok {
				h.Write([]byte("missing;"))
			}
			writeString(k)
			writeString(v)
		}
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// Matches reports whether live carries hash and still hashes to it.
func (sh *Shape) Matches(live *corev1.Secret, hash string) bool {
	return sh != nil && live != nil && live.Annotations[sh.hashKey] == hash && sh.Hash(live) == hash
}

// fingerprint is what a live Secret holds, as far as the shape sees it.
func (sh *Shape) fingerprint(s *corev1.Secret) string {
	return sh.Hash(s) + "/" + s.Annotations[sh.hashKey]
}

// ManagedShape is the shape of what manager wrote in s, read from the
// fields the API server records it holds (metadata.managedFields): after a
// restart it stands for the shape a process kept in memory. nil when
// manager holds nothing in s, or its record cannot be read.
func ManagedShape(s *corev1.Secret, manager, hashKey string, typed bool) *Shape {
	held := &corev1.Secret{Data: map[string][]byte{}, ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}, Annotations: map[string]string{}}}
	found := false
	for _, m := range s.ManagedFields {
		if m.Manager != manager || m.FieldsV1 == nil {
			continue
		}
		var f struct {
			Data       map[string]json.RawMessage `json:"f:data"`
			BinaryData map[string]json.RawMessage `json:"f:binaryData"` // a ConfigMap target's
			Meta       struct {
				Labels      map[string]json.RawMessage `json:"f:labels"`
				Annotations map[string]json.RawMessage `json:"f:annotations"`
			} `json:"f:metadata"`
		}
		if json.Unmarshal(m.FieldsV1.Raw, &f) != nil {
			return nil
		}
		found = true
		for _, part := range []struct {
			from map[string]json.RawMessage
			add  func(string)
		}{
			{f.Data, func(k string) { held.Data[k] = nil }},
			{f.BinaryData, func(k string) { held.Data[k] = nil }},
			{f.Meta.Labels, func(k string) { held.Labels[k] = "" }},
			{f.Meta.Annotations, func(k string) { held.Annotations[k] = "" }},
		} {
			for k := range part.from {
				if name, ok := strings.CutPrefix(k, "f:"); ok {
					part.add(name)
				}
			}
		}
	}
	if !found {
		return nil
	}
	return ShapeOf(held, hashKey, typed)
}
