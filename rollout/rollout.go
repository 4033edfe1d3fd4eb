// Package rollout executes rollout on change, what Reloader does, built in
// and opt-in per workload: a Deployment, StatefulSet or DaemonSet annotated
// secretsync.io/reload: "true" (every Secret its pods use) or
// secretsync.io/reload-secrets: "a,b" (those Secrets) gets its pod template
// annotated with a hash of those Secrets' content hashes. When one changes,
// the template changes, and the workload rolls out once. plan.RollOut
// decides; this package lists the workloads and patches them (Execute), or
// says what it would patch (Plan, for diff). Values never
// enter the hash, only content hashes, and nothing is written when the hash
// is the same.
package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/plan"
)

// The workload annotations: the two that opt in, and the hash written on
// the pod template.
const (
	AnnotationReload        = "secretsync.io/reload"
	AnnotationReloadSecrets = "secretsync.io/reload-secrets"
	AnnotationSecretsHash   = "secretsync.io/secrets-hash"
)

// Changes is what a pass's writes changed, as rollout needs it.
type Changes struct {
	// Namespaces are those whose Secrets changed: only their workloads
	// are listed.
	Namespaces map[string]bool
	// Hashes maps each managed Secret (Kind "") to its content hash after
	// the pass.
	Hashes map[plan.Target]string
}

// NewChanges returns empty Changes for a pass to gather its own in.
func NewChanges() Changes {
	return Changes{Namespaces: map[string]bool{}, Hashes: map[plan.Target]string{}}
}

// Add records a managed Secret's content hash after the pass, and its
// namespace when written says its workloads are to be listed. Changes made
// without NewChanges (rollout off) record nothing.
func (c Changes) Add(t plan.Target, hash string, written bool) {
	if c.Hashes == nil {
		return
	}
	c.Hashes[t] = hash
	if written {
		c.Namespaces[t.Namespace] = true
	}
}

// Outcome is what Execute did: each rollout the plan decided, in order,
// with its patch's error, and the namespaces whose workloads could not be
// listed.
type Outcome struct {
	Rollouts []Rollout
	Errs     []error
}

// Rollout is one executed plan.RollOut action; Err is its patch's error,
// naming the workload.
type Rollout struct {
	Action plan.Action
	Err    error
}

type workload struct {
	kind     string
	meta     metav1.ObjectMeta
	template corev1.PodTemplateSpec
	patch    func(ctx context.Context, body []byte) error
}

// Execute executes plan.RollOut for the opted-in workloads of the
// namespaces in ch, patching each pod template's hash as fieldManager.
func Execute(ctx context.Context, kube kubernetes.Interface, fieldManager string, ch Changes) Outcome {
	due, errs := decide(ctx, kube, fieldManager, ch)
	out := Outcome{Errs: errs}
	for _, d := range due {
		body, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"annotations": map[string]string{AnnotationSecretsHash: d.act.Hash}}}}})
		if err := d.w.patch(ctx, body); err != nil {
			t := d.act.Target
			err = fmt.Errorf("rollout %s %s/%s: %w", t.Kind, t.Namespace, t.Name, err)
			out.Rollouts = append(out.Rollouts, Rollout{Action: d.act, Err: err})
			continue
		}
		out.Rollouts = append(out.Rollouts, Rollout{Action: d.act})
	}
	return out
}

// Plan is what Execute would do, patching nothing (what diff prints): the
// rollouts plan.RollOut decides for the opted-in workloads of the
// namespaces in ch, and the namespaces whose workloads could not be listed.
func Plan(ctx context.Context, kube kubernetes.Interface, ch Changes) ([]plan.Action, []error) {
	due, errs := decide(ctx, kube, "", ch)
	out := make([]plan.Action, len(due))
	for i, d := range due {
		out[i] = d.act
	}
	return out, errs
}

// dueRollout is a workload plan.RollOut rolls out, with its action.
type dueRollout struct {
	w   workload
	act plan.Action
}

// decide lists the opted-in workloads of the namespaces in ch and asks
// plan.RollOut about each.
func decide(ctx context.Context, kube kubernetes.Interface, fieldManager string, ch Changes) ([]dueRollout, []error) {
	var due []dueRollout
	var errs []error
	for _, ns := range slices.Sorted(maps.Keys(ch.Namespaces)) {
		workloads, err := list(ctx, kube, ns, fieldManager)
		if err != nil {
			errs = append(errs, fmt.Errorf("rollout: list workloads in %s: %w", ns, err))
			continue
		}
		for _, w := range workloads {
			act, ok := plan.RollOut(plan.Workload{Kind: w.kind, Namespace: ns, Name: w.meta.Name, Secrets: reloadSecrets(w), Hash: w.template.Annotations[AnnotationSecretsHash]},
				func(n string) (string, bool) { v, ok := ch.Hashes[plan.Target{Namespace: ns, Name: n}]; return v, ok })
			if ok {
				due = append(due, dueRollout{w: w, act: act})
			}
		}
	}
	return due, errs
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

// list returns the Deployments, StatefulSets and DaemonSets of ns, each
// with the strategic merge patch of its kind.
func list(ctx context.Context, kube kubernetes.Interface, ns, fieldManager string) ([]workload, error) {
	apps := kube.AppsV1()
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	var out []workload
	deps, err := apps.Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		out = append(out, workload{kind: "Deployment", meta: d.ObjectMeta, template: d.Spec.Template,
			patch: func(ctx context.Context, b []byte) error {
				_, err := apps.Deployments(ns).Patch(ctx, d.Name, types.StrategicMergePatchType, b, opts)
				return err
			}})
	}
	sts, err := apps.StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, st := range sts.Items {
		out = append(out, workload{kind: "StatefulSet", meta: st.ObjectMeta, template: st.Spec.Template,
			patch: func(ctx context.Context, b []byte) error {
				_, err := apps.StatefulSets(ns).Patch(ctx, st.Name, types.StrategicMergePatchType, b, opts)
				return err
			}})
	}
	dss, err := apps.DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range dss.Items {
		out = append(out, workload{kind: "DaemonSet", meta: d.ObjectMeta, template: d.Spec.Template,
			patch: func(ctx context.Context, b []byte) error {
				_, err := apps.DaemonSets(ns).Patch(ctx, d.Name, types.StrategicMergePatchType, b, opts)
				return err
			}})
	}
	return out, nil
}
