package rollout

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/secretsync/secretsync/plan"
)

func TestReloadSecretsListsWhatTheWorkloadAskedFor(t *testing.T) {
	uses := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol"}}},
			{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected"}}}}}}},
		},
		InitContainers: []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init"}}}}}},
		Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}, Key: "k"}}}}}},
	}}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		want        []string
	}{
		{"no annotation reloads on nothing", nil, nil},
		{"reload true reloads on every Secret its pods use", map[string]string{AnnotationReload: "true"}, []string{"env", "init", "projected", "vol"}},
		{"reload other than true reloads on nothing", map[string]string{AnnotationReload: "yes"}, nil},
		{"reload-secrets names them, blanks dropped", map[string]string{AnnotationReloadSecrets: " a, ,b ", AnnotationReload: "true"}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reloadSecrets(workload{meta: metav1.ObjectMeta{Annotations: tc.annotations}, template: uses})
			if diff := cmp.Diff(tc.want, got, cmpEmpty); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func deployment(ns, name string, annotations map[string]string, hash string) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}}
	d.Spec.Template.Annotations = map[string]string{}
	if hash != "" {
		d.Spec.Template.Annotations[AnnotationSecretsHash] = hash
	}
	return d
}

func templateHash(t *testing.T, kube *fake.Clientset, ns, name string) string {
	t.Helper()
	d, err := kube.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Annotations[AnnotationSecretsHash]
}

func TestExecutePatchesOnlyOptedInWorkloadsOfChangedNamespacesOnce(t *testing.T) {
	ctx := context.Background()
	opted := map[string]string{AnnotationReloadSecrets: "a"}
	kube := fake.NewClientset(
		deployment("app", "web", opted, ""),
		deployment("app", "plain", nil, ""),
		deployment("other", "web", opted, ""),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db", Annotations: opted}},
	)
	ch := Changes{
		Namespaces: map[string]bool{"app": true},
		Hashes:     map[plan.Target]string{{Namespace: "app", Name: "a"}: "h1", {Namespace: "other", Name: "a"}: "h1"},
	}
	out := Execute(ctx, kube, "secretsync", ch)
	var got []plan.Target
	for _, ro := range out.Rollouts {
		if ro.Err != nil || ro.Action.Kind != plan.Rollout {
			t.Errorf("rollout %+v", ro)
		}
		got = append(got, ro.Action.Target)
	}
	want := []plan.Target{{Namespace: "app", Name: "web", Kind: "Deployment"}, {Namespace: "app", Name: "db", Kind: "StatefulSet"}}
	if diff := cmp.Diff(want, got); diff != "" || len(out.Errs) > 0 {
		t.Fatalf("first pass rolled out (-want +got):\n%s\nerrors: %v", diff, out.Errs)
	}
	if h := templateHash(t, kube, "app", "web"); h == "" || h != out.Rollouts[0].Action.Hash {
		t.Errorf("web's pod template hash %q, want the action's %q", h, out.Rollouts[0].Action.Hash)
	}
	if templateHash(t, kube, "app", "plain") != "" || templateHash(t, kube, "other", "web") != "" {
		t.Error("a workload not opted in, or in a namespace that did not change, was patched")
	}
	if again := Execute(ctx, kube, "secretsync", ch); len(again.Rollouts) != 0 {
		t.Errorf("unchanged hashes rolled out again: %+v", again.Rollouts)
	}
}

func TestExecuteReportsAListOrPatchFailureNamingIt(t *testing.T) {
	kube := fake.NewClientset(deployment("app", "web", map[string]string{AnnotationReloadSecrets: "a"}, ""))
	kube.PrependReactor("list", "daemonsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "broken" {
			return true, nil, errors.New("forbidden")
		}
		return false, nil, nil
	})
	kube.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("conflict")
	})
	out := Execute(context.Background(), kube, "secretsync", Changes{
		Namespaces: map[string]bool{"app": true, "broken": true},
		Hashes:     map[plan.Target]string{{Namespace: "app", Name: "a"}: "h1"},
	})
	if len(out.Errs) != 1 || out.Errs[0].Error() != "rollout: list workloads in broken: forbidden" {
		t.Errorf("list errors: %v", out.Errs)
	}
	if len(out.Rollouts) != 1 || out.Rollouts[0].Err == nil || out.Rollouts[0].Err.Error() != "rollout Deployment app/web: conflict" {
		t.Errorf("rollouts: %+v", out.Rollouts)
	}
}
