package reconciler

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// target is the object es writes: a Secret, or a ConfigMap (ESO's
// target.manifest), which cluster.Targets converts at the API server's
// edge; everywhere here it travels as a *corev1.Secret.
func target(es *render.ExternalSecret) plan.Target {
	t := plan.Target{Namespace: es.Namespace, Name: es.TargetName()}
	if es.TargetKind() == render.KindConfigMap {
		t.Kind = render.KindConfigMap
	}
	return t
}

// owns is plan.Owns, the ownership rule, for this instance.
func (r *Reconciler) owns(kind string, m metav1.ObjectMeta) bool {
	return plan.Owns(r.cfg.Instance, kind, m.Labels, m.Annotations)
}

// targets reads and writes targets for the running pass (cluster.Targets).
func (r *Reconciler) targets() cluster.Targets { return cluster.NewTargets(r.kube, r.scrub) }
