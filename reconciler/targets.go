package reconciler

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// A target may be a ConfigMap (ESO's target.manifest); cluster.Targets
// converts at the API server's edge, and everywhere here it travels as a
// *corev1.Secret.

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

// targets reads and writes targets for the running pass (cluster.Targets).
func (r *Reconciler) targets() cluster.Targets { return cluster.NewTargets(r.kube, r.scrub) }
