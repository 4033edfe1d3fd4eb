package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/testenv"
)

// diff lists what the next pass would do to each remote secret a
// PushSecret writes, marked "push" apart from the Secrets, in the table
// and under "pushes" in JSON, by name: no value printed, nothing written
// to AWS, exit 1 for a change; a PushSecret in secretsync's own namespace
// is refused as run refuses it; IfNotExists on a remote secret that exists
// is left, as run leaves it, and counted as no change.
func TestDiffListsPushSecretActions(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Stop() })
	sm := awstest.StartSM(t)
	value, handMade := leaktest.Canary(), leaktest.Canary()
	var c leaktest.Canaries
	c.Add(value, handMade)
	sm.Create(t, "cli/hand", handMade)
	src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "push-src", Namespace: "default"}, Data: map[string][]byte{"k": []byte(value)}}
	if _, err := kube.Client.CoreV1().Secrets("default").Create(context.Background(), src, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	// The inventory's namespace is secretsync's own: run refuses a PushSecret there, and so must diff.
	if _, err := kube.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "secretsync"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	push := func(name, extra, remote string) string {
		namespace := "default"
		if name == "own" {
			namespace = "secretsync"
		}
		return "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: " + name + ", namespace: " + namespace + "}\nspec:\n" + extra +
			"  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: push-src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: " + remote + "}}}]\n"
	}
	manifests := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: default}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n" +
		push("new", "", "cli/new") + push("claim", "  updatePolicy: IfNotExists\n", "cli/hand") + push("own", "", "cli/own")
	if err := os.WriteFile(filepath.Join(repo, "push.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "secretsync", "--instance", "diffpush", "--aws-endpoint", sm.URL, repo}
	var out, errOut bytes.Buffer
	code := cli("diff", args, &out, &errOut)
	c.Check(t, "diff's output", out.String()+errOut.String())
	for _, want := range []string{
		"push create  SecretStore/default/aws cli/new (PushSecret default/new)",
		"push leave   SecretStore/default/aws cli/hand (PushSecret default/claim) (exists; updatePolicy IfNotExists leaves it as it is)",
		"push refused SecretStore/secretsync/aws cli/own (PushSecret secretsync/own) (would push: metadata.namespace: namespace secretsync is secretsync's own, holding its Git credentials and webhook secret, which are never pushed; spec.secretStoreRefs: SecretStore/secretsync/aws is not in the rendered manifests)",
	} {
		if code != exitFindings || !strings.Contains(out.String(), want) {
			t.Fatalf("exit %d, output lacks %q:\n%s%s", code, want, out.String(), errOut.String())
		}
	}
	if !strings.Contains(errOut.String(), "no Secret would change, 1 remote secret would change, 1 refused") {
		t.Fatalf("summary:\n%s\n%s", errOut.String(), out.String())
	}
	out.Reset()
	errOut.Reset()
	code = cli("diff", append(args, "-o", "json"), &out, &errOut)
	c.Check(t, "diff's JSON", out.String()+errOut.String())
	if code != exitFindings || !strings.Contains(out.String(), `"pushes"`) || !strings.Contains(out.String(), `"remoteKey": "cli/new"`) {
		t.Fatalf("exit %d, JSON:\n%s%s", code, out.String(), errOut.String())
	}
	if calls := sm.SM.Calls(); calls["CreateSecret"]+calls["PutSecretValue"]+calls["TagResource"]+calls["DeleteSecret"] != 1 { // the seed's create
		t.Fatalf("diff wrote to AWS: %v", calls)
	}
}
