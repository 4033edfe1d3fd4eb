package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/plan"
)

// Rollout on change, what Reloader does, built in and opt-in per workload:
// a Deployment, StatefulSet or DaemonSet annotated secretsync.io/reload:
// "true" (every Secret its pods use) or secretsync.io/reload-secrets: "a,b"
// (those Secrets) gets its pod template annotated with a hash of those
// Secrets' content hashes. When one changes, the template changes, and the
// workload rolls out once. Values never enter the hash, only our content
// hashes, and nothing is written when the hash is the same.
const (
	AnnotationReload        = "secretsync.io/reload"
	AnnotationReloadSecrets = "secretsync.io/reload-secrets"
	AnnotationSecretsHash   = "secretsync.io/secrets-hash"
)

type workload struct {
	kind, namespace, name string
	meta                  metav1.ObjectMeta
	template              corev1.PodTemplateSpec
	patch                 func(ctx context.Context, body []byte) error
}

// rollout executes plan.RollOut for the opted-in workloads in namespaces
// whose Secrets changed. hashes maps each managed Secret to its content
// hash after the pass.
func (r *Reconciler) rollout(ctx context.Context, changed map[string]bool, hashes map[targetKey]string, res *Result) {
	nss := make([]string, 0, len(changed))
	for ns := range changed {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		workloads, err := r.workloads(ctx, ns)
		if err != nil {
			res.fail(ApplyFailed, fmt.Errorf("rollout: list workloads in %s: %w", ns, err))
			continue
		}
		for _, w := range workloads {
			act, ok := plan.RollOut(plan.Workload{Kind: w.kind, Namespace: ns, Name: w.name, Secrets: reloadSecrets(w), Hash: w.template.Annotations[AnnotationSecretsHash]},
				func(n string) (string, bool) { v, ok := hashes[secretKey(ns, n)]; return v, ok })
			if !ok {
				continue
			}
			r.executed(act)
			body, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]string{AnnotationSecretsHash: act.Hash}}}}})
			if err := w.patch(ctx, body); err != nil {
				res.fail(ApplyFailed, fmt.Errorf("rollout %s %s/%s: %w", w.kind, ns, w.name, err))
				continue
			}
			res.Rollouts++
			r.log.Info().Str("namespace", ns).Str("workload", w.kind+"/"+w.name).Msg("rollout: secrets changed")
		}
	}
}

// reloadSecrets lists the Secrets a workload asked to be reloaded on.
func reloadSecrets(w workload) []string {
	if v := w.meta.Annotations[AnnotationReloadSecrets]; v != "" {
		var out []string
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
		return out
	}
	if w.meta.Annotations[AnnotationReload] != "true" {
		return nil
	}
	seen := map[string]bool{}
	spec := w.template.Spec
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			seen[v.Secret.SecretName] = true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					seen[s.Secret.Name] = true
				}
			}
		}
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				seen[e.SecretRef.Name] = true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				seen[e.ValueFrom.SecretKeyRef.Name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (r *Reconciler) workloads(ctx context.Context, ns string) ([]workload, error) {
	apps := r.kube.AppsV1()
	var out []workload
	add := func(kind, resource string, meta metav1.ObjectMeta, tpl corev1.PodTemplateSpec) {
		out = append(out, workload{kind: kind, namespace: ns, name: meta.Name, meta: meta, template: tpl,
			patch: func(ctx context.Context, b []byte) error {
				return apps.RESTClient().Patch(types.StrategicMergePatchType).Namespace(ns).Resource(resource).Name(meta.Name).
					Param("fieldManager", FieldManager).Body(b).Do(ctx).Error()
			}})
	}
	deps, err := apps.Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		add("Deployment", "deployments", d.ObjectMeta, d.Spec.Template)
	}
	sts, err := apps.StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, st := range sts.Items {
		add("StatefulSet", "statefulsets", st.ObjectMeta, st.Spec.Template)
	}
	dss, err := apps.DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range dss.Items {
		add("DaemonSet", "daemonsets", d.ObjectMeta, d.Spec.Template)
	}
	return out, nil
}
