package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/rollout"
)

// TestDiffCountsRefusalsApartAndExitsAsKubectlDiff: a refused action is
// no change. A changed immutable Secret alone (refused, and the pass does
// not fail on it) exits 0 and is counted "refused"; a change beside it
// exits 1; a refusal the pass reports as a failure (a Merge target that
// does not exist) exits 2. With --reload-workloads a rollout is a change.
func TestDiffCountsRefusalsApartAndExitsAsKubectlDiff(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()
	sm := awstest.StartSM(t)
	sm.Create(t, "d/imm", "diff-imm-seeded-1")
	sm.Create(t, "d/plain", "diff-plain-seeded-1")
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	es := func(name, target string) string {
		return "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: " + name + "}\nspec:\n  secretStoreRef: {name: aws}\n  target: " + target +
			"\n  data: [{secretKey: v, remoteRef: {key: d/" + name + "}}]\n"
	}
	files := map[string]string{"secrets.yaml": "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n" +
		es("imm", "{immutable: true}") + es("plain", "{}")}
	if _, err := repo.Commit("add", files); err != nil {
		t.Fatal(err)
	}
	// secretsync's own namespace is apart from the ExternalSecrets' (a
	// Merge there is an error, not the refusal this test counts).
	if _, err := kube.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "secretsync"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "secretsync"}
	if code := cli("run", append(kc, "--once", "--repo", "file://"+repo.Dir, "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work")), io.Discard, io.Discard); code != 0 {
		t.Fatalf("run --once exited %d", code)
	}
	diff := func(want int, summary string, extra ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli("diff", append(append(kc, "--aws-endpoint", sm.URL, repo.Dir), extra...), &out, &errOut)
		if code != want || !strings.Contains(errOut.String(), summary) {
			t.Fatalf("diff exited %d (want %d), stderr lacks %q:\n%s%s", code, want, summary, out.String(), errOut.String())
		}
		return out.String()
	}

	sm.Put(t, "d/imm", "diff-imm-seeded-2")
	if out := diff(exitClean, "no Secret would change, 1 refused"); !strings.Contains(out, "refused default/imm") {
		t.Fatalf("the refusal is not listed:\n%s", out)
	}

	sm.Put(t, "d/plain", "diff-plain-seeded-2")
	diff(exitFindings, "1 Secret would change, 1 refused")

	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{rollout.AnnotationReloadSecrets: "plain"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web"}}}}},
	}
	if _, err := kube.Client.AppsV1().Deployments("default").Create(context.Background(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := diff(exitFindings, "1 Secret would change, 1 workload would roll out, 1 refused", "--reload-workloads"); !strings.Contains(out, "rollout default/web (Deployment)") {
		t.Fatalf("the rollout is not listed:\n%s", out)
	}
	diff(exitFindings, "1 Secret would change, 1 refused") // rollouts only as run --reload-workloads makes them

	files["secrets.yaml"] += es("absent", "{name: absent, creationPolicy: Merge}")
	sm.Create(t, "d/absent", "diff-absent-seeded-1")
	if _, err := repo.Commit("merge into a Secret that does not exist", files); err != nil {
		t.Fatal(err)
	}
	diff(exitUsage, "2 refused (1 would fail the pass)")
}
