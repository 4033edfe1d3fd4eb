package reconciler_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/rollout"
)

func TestAReloadAnnotationRollsOutOncePerChange(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.ReloadWorkloads = true })
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: f.ns, Annotations: map[string]string{rollout.AnnotationReload: "true"}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web",
					Env: []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "a"}, Key: "v"}}}}}}},
			},
		},
	}
	plain := dep.DeepCopy()
	plain.Name, plain.Annotations = "plain", nil
	for _, d := range []*appsv1.Deployment{dep, plain} {
		if _, err := env.Client.AppsV1().Deployments(f.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	generation := func(name string) (int64, string) {
		d, err := env.Client.AppsV1().Deployments(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Generation, d.Spec.Template.Annotations[rollout.AnnotationSecretsHash]
	}
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a")})
	res := f.pass()
	mustOK(t, res)
	g1, h1 := generation("web")
	if h1 == "" || res.Rollouts != 1 {
		t.Fatalf("first pass: rollouts %d, hash %q", res.Rollouts, h1)
	}

	f.rotate("k/a", "value-a2-seeded")
	res = f.pass()
	mustOK(t, res)
	g2, h2 := generation("web")
	if res.Rollouts != 1 || g2 != g1+1 || h2 == h1 {
		t.Fatalf("after a rotation: rollouts %d, generation %d -> %d", res.Rollouts, g1, g2)
	}

	res = f.pass()
	mustOK(t, res)
	if g3, _ := generation("web"); res.Rollouts != 0 || g3 != g2 {
		t.Fatalf("an unchanged pass rolled out: rollouts %d, generation %d -> %d", res.Rollouts, g2, g3)
	}
	if _, h := generation("plain"); h != "" {
		t.Fatal("a workload without the annotation was touched")
	}
}
