package reconciler

import (
	"context"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// This file is the one place that knows a target may be a ConfigMap
// (ESO's target.manifest). Everywhere else a ConfigMap target travels as a
// *corev1.Secret with its values as bytes, so that hashing, policies, the
// drift checks and prune stay one code path; the calls below convert at
// the API server's edge.

// targetKey names one object secretsync writes. kind is "" for a Secret
// and render.KindConfigMap for a ConfigMap target.
type targetKey struct{ namespace, name, kind string }

func secretKey(namespace, name string) targetKey { return targetKey{namespace: namespace, name: name} }

// String is the form desired.Target gives: namespace/name, with
// " (ConfigMap)" after a ConfigMap's.
func (k targetKey) String() string {
	s := k.namespace + "/" + k.name
	if k.kind != "" {
		s += " (" + k.kind + ")"
	}
	return s
}

// compareKeys orders keys as their String forms would order, without
// building them: sorting 50,000 keys by String made some 1.6 million
// strings.
func compareKeys(a, b targetKey) int {
	var ba, bb [6]string
	return compareJoined(a.parts(ba[:0]), b.parts(bb[:0]))
}

// parts are the pieces String joins.
func (k targetKey) parts(buf []string) []string {
	buf = append(buf, k.namespace, "/", k.name)
	if k.kind != "" {
		buf = append(buf, " (", k.kind, ")")
	}
	return buf
}

// compareJoined compares strings.Join(a, "") with strings.Join(b, "").
func compareJoined(a, b []string) int {
	var x, y string
	for {
		for x == "" && len(a) > 0 {
			x, a = a[0], a[1:]
		}
		for y == "" && len(b) > 0 {
			y, b = b[0], b[1:]
		}
		if x == "" || y == "" {
			return strings.Compare(x, y) // one or both ran out
		}
		n := min(len(x), len(y))
		if c := strings.Compare(x[:n], y[:n]); c != 0 {
			return c
		}
		x, y = x[n:], y[n:]
	}
}

// parseKey reads String's form back.
func parseKey(s string) (targetKey, bool) {
	kind := ""
	if rest, ok := strings.CutSuffix(s, " ("+render.KindConfigMap+")"); ok {
		s, kind = rest, render.KindConfigMap
	}
	ns, name, ok := strings.Cut(s, "/")
	return targetKey{ns, name, kind}, ok
}

// noun is the kind as messages name it.
func (k targetKey) noun() string {
	if k.kind == "" {
		return "secret"
	}
	return strings.ToLower(k.kind)
}

// named is the target as a message names it: "configmap ns/name".
func (k targetKey) named() string { return k.noun() + " " + k.namespace + "/" + k.name }

// scope is the key of what one LIST reads: the kind in a namespace.
func (k targetKey) scope() targetKey { return targetKey{namespace: k.namespace, kind: k.kind} }

func (k targetKey) ref() corev1.ObjectReference {
	kind := k.kind
	if kind == "" {
		kind = render.KindSecret
	}
	return corev1.ObjectReference{APIVersion: "v1", Kind: kind, Namespace: k.namespace, Name: k.name}
}

func target(es *render.ExternalSecret) targetKey {
	t := secretKey(es.Namespace, es.TargetName())
	if es.TargetKind() == render.KindConfigMap {
		t.kind = render.KindConfigMap
	}
	return t
}

// owns is plan.Owns, the ownership rule, for this instance.
func (r *Reconciler) owns(kind string, m metav1.ObjectMeta) bool {
	return plan.Owns(r.cfg.Instance, kind, m.Labels, m.Annotations)
}

// configMapOf is the ConfigMap that holds s's content: text values in
// data, and values that are not UTF-8 whole in binaryData.
func configMapOf(s *corev1.Secret) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: s.ObjectMeta, Immutable: s.Immutable}
	for k, v := range s.Data {
		if utf8.Valid(v) {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[k] = string(v)
			continue
		}
		if cm.BinaryData == nil {
			cm.BinaryData = map[string][]byte{}
		}
		cm.BinaryData[k] = v
	}
	return cm
}

// secretOf is a ConfigMap as the rest of the reconciler reads targets.
func secretOf(cm *corev1.ConfigMap) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: cm.ObjectMeta, Immutable: cm.Immutable}
	if n := len(cm.Data) + len(cm.BinaryData); n > 0 {
		s.Data = make(map[string][]byte, n)
	}
	for k, v := range cm.Data {
		s.Data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		s.Data[k] = v
	}
	return s
}

// getTarget reads one target.
func (r *Reconciler) getTarget(ctx context.Context, t targetKey) (*corev1.Secret, error) {
	if t.kind == "" {
		return r.kube.CoreV1().Secrets(t.namespace).Get(ctx, t.name, metav1.GetOptions{})
	}
	cm, err := r.kube.CoreV1().ConfigMaps(t.namespace).Get(ctx, t.name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return secretOf(cm), nil
}

// listTargets reads one page of the targets of a scope.
func (r *Reconciler) listTargets(ctx context.Context, scope targetKey, opts metav1.ListOptions) ([]*corev1.Secret, string, error) {
	if scope.kind == "" {
		list, err := r.kube.CoreV1().Secrets(scope.namespace).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		out := make([]*corev1.Secret, len(list.Items))
		for i := range list.Items {
			out[i] = &list.Items[i]
		}
		return out, list.Continue, nil
	}
	list, err := r.kube.CoreV1().ConfigMaps(scope.namespace).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	out := make([]*corev1.Secret, len(list.Items))
	for i := range list.Items {
		out[i] = secretOf(&list.Items[i])
	}
	return out, list.Continue, nil
}

// The writes below return the API server's errors scrubbed of the pass's
// values (Reconciler.scrub): the server quotes what it refuses (a label, a
// key name), and the caller wraps the error into every outlet.

// createTarget creates s, which fails when the name is taken.
func (r *Reconciler) createTarget(ctx context.Context, t targetKey, s *corev1.Secret) error {
	opts := metav1.CreateOptions{FieldManager: FieldManager}
	var err error
	if t.kind == "" {
		_, err = r.kube.CoreV1().Secrets(t.namespace).Create(ctx, s, opts)
	} else {
		_, err = r.kube.CoreV1().ConfigMaps(t.namespace).Create(ctx, configMapOf(s), opts)
	}
	return r.scrub.Error(err)
}

// applyTarget server-side applies the whole of s as secretsync.
func (r *Reconciler) applyTarget(ctx context.Context, t targetKey, s *corev1.Secret) error {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if t.kind == "" {
		ac := corev1ac.Secret(t.name, t.namespace).
			WithLabels(s.Labels).
			WithAnnotations(s.Annotations).
			WithType(s.Type).
			WithData(s.Data)
		if s.Immutable != nil {
			ac = ac.WithImmutable(*s.Immutable)
		}
		_, err := r.kube.CoreV1().Secrets(t.namespace).Apply(ctx, ac, opts)
		return r.scrub.Error(err)
	}
	cm := configMapOf(s)
	ac := corev1ac.ConfigMap(t.name, t.namespace).
		WithLabels(cm.Labels).
		WithAnnotations(cm.Annotations)
	if len(cm.Data) > 0 {
		ac = ac.WithData(cm.Data)
	}
	if len(cm.BinaryData) > 0 {
		ac = ac.WithBinaryData(cm.BinaryData)
	}
	if cm.Immutable != nil {
		ac = ac.WithImmutable(*cm.Immutable)
	}
	_, err := r.kube.CoreV1().ConfigMaps(t.namespace).Apply(ctx, ac, opts)
	return r.scrub.Error(err)
}

// mergePatchTarget sends a JSON merge patch to one target.
func (r *Reconciler) mergePatchTarget(ctx context.Context, t targetKey, patch []byte) error {
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	var err error
	if t.kind == "" {
		_, err = r.kube.CoreV1().Secrets(t.namespace).Patch(ctx, t.name, types.MergePatchType, patch, opts)
	} else {
		_, err = r.kube.CoreV1().ConfigMaps(t.namespace).Patch(ctx, t.name, types.MergePatchType, patch, opts)
	}
	return r.scrub.Error(err)
}

// deleteTarget deletes one target, only if it is still the object seen.
func (r *Reconciler) deleteTarget(ctx context.Context, t targetKey, seen *corev1.Secret) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &seen.UID, ResourceVersion: &seen.ResourceVersion}}
	if t.kind == "" {
		return r.kube.CoreV1().Secrets(t.namespace).Delete(ctx, t.name, opts)
	}
	return r.kube.CoreV1().ConfigMaps(t.namespace).Delete(ctx, t.name, opts)
}

// resource is the kind's API resource, for the metadata lists.
func (k targetKey) resource() string {
	if k.kind == "" {
		return "secrets"
	}
	return "configmaps"
}
