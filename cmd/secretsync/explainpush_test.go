package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/testenv"
)

// TestExplainPushSecretSaysWhatItPushedWhenAndWhyNeverAValue: after a real
// pass, explain --kind PushSecret shows each remote secret a PushSecret
// pushed with its last push and readiness from the inventory (ready, or
// refused with the reason: a remote secret not ours), and from PATH its
// source, policies, stores and remote keys; a PushSecret no longer in PATH
// says so. No output format (table, json, yaml) holds a piece of a value
// pushed or found in AWS, nor do the Events or the inventory.
func TestExplainPushSecretSaysWhatItPushedWhenAndWhyNeverAValue(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Stop() })
	sm := awstest.StartSM(t)
	var c leaktest.Canaries
	password, user, hand := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	c.Add(password, user, hand)
	sm.Create(t, "shop/hand", hand)
	ctx := context.Background()
	src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "default"}, Data: map[string][]byte{"password": []byte(password), "user": []byte(user)}}
	if _, err := kube.Client.CoreV1().Secrets("default").Create(ctx, src, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	push := func(name, extra, data string) string {
		return "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: " + name + ", namespace: default}\nspec:\n" + extra +
			"  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src}}\n  data:\n" + data
	}
	if _, err := repo.Commit("add", map[string]string{"push.yaml": "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: default}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n" +
		push("pub", "  deletionPolicy: Delete\n  refreshInterval: 30m\n", "  - match: {secretKey: password, remoteRef: {remoteKey: app/db, property: password}}\n  - match: {remoteRef: {remoteKey: app/all}}\n") +
		push("blocked", "", "  - match: {secretKey: password, remoteRef: {remoteKey: shop/hand}}\n")}); err != nil {
		t.Fatal(err)
	}
	// The inventory lives apart: run refuses PushSecrets in secretsync's own namespaces.
	if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "secretsync"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "secretsync"}
	outputs := map[string]string{}
	run := func(name string, args ...string) (string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli(name, args, &out, &errOut)
		label := "secretsync " + name + " " + strings.Join(args, " ")
		outputs[label+" (stdout)"], outputs[label+" (stderr)"] = out.String(), errOut.String()
		return out.String(), code
	}
	if _, code := run("run", append(kc, "--once", "--log-level", "debug", "--repo", "file://"+repo.Dir, "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work"))...); code != exitFindings {
		t.Fatalf("run --once exited %d, want %d (blocked is refused)", code, exitFindings)
	}
	explain := func(target string, args ...string) string {
		t.Helper()
		out, code := run("explain", append(append(kc, "--kind", "PushSecret", target, repo.Dir), args...)...)
		if code != 0 {
			t.Fatalf("explain %s %v exited %d:\n%s", target, args, code, c.Mask(out))
		}
		return out
	}

	table := explain("default/pub")
	for _, want := range []string{
		`(?m)^  pushed: +app/db#password in SecretStore/default/aws from default/src: last pushed 20\d\d-\S+, ready=true reason=\S+`,
		`(?m)^  pushed: +app/all in SecretStore/default/aws from default/src: last pushed 20\d\d-\S+, ready=true`,
		`(?m)^    source: +Secret default/src$`, `(?m)^    updatePolicy: +Replace$`, `(?m)^    deletionPolicy: +Delete$`,
		`(?m)^    refreshInterval: +30m$`, `(?m)^    stores: +SecretStore/default/aws$`,
		`(?m)^    app/db#password +in SecretStore/default/aws <- key password$`, `(?m)^    app/all +in SecretStore/default/aws <- key \(whole Secret as JSON\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(table) {
			t.Errorf("explain default/pub lacks %s:\n%s", want, c.Mask(table))
		}
	}
	var got pushExplanation
	if err := json.Unmarshal([]byte(explain("default/pub", "-o", "json")), &got); err != nil || len(got.Pushed) != 2 || got.Now == nil || len(got.Now.Remotes) != 2 {
		t.Fatalf("-o json: %v %+v", err, got)
	}
	for _, r := range got.Pushed {
		if !r.Ready || r.LastPush == nil || r.Secret != "default/src" || !r.Delete {
			t.Errorf("-o json row %+v: want ready, pushed from default/src, deletionPolicy Delete", r)
		}
	}
	var fromYAML pushExplanation
	if err := yaml.Unmarshal([]byte(explain("default/pub", "-o", "yaml")), &fromYAML); err != nil || len(fromYAML.Pushed) != 2 {
		t.Fatalf("-o yaml: %v %+v", err, fromYAML)
	}

	got = pushExplanation{}
	if err := json.Unmarshal([]byte(explain("default/blocked", "-o", "json")), &got); err != nil || len(got.Pushed) != 1 {
		t.Fatalf("blocked -o json: %v %+v", err, got)
	}
	if r := got.Pushed[0]; r.Ready || r.LastPush != nil || r.Reason == "" || !strings.Contains(r.Message, "shop/hand") {
		t.Errorf("blocked: %+v; want not ready, never pushed, with a reason naming shop/hand", r)
	}
	if table := explain("default/blocked"); !strings.Contains(table, "last pushed never, ready=false") {
		t.Errorf("blocked's table:\n%s", c.Mask(table))
	}

	if table := explain("default/never"); !strings.Contains(table, "in the inventory: nothing pushed") ||
		!strings.Contains(table, "no PushSecret default/never in "+repo.Dir+" any more") {
		t.Errorf("a PushSecret never in Git:\n%s", c.Mask(table))
	}
	if _, code := run("explain", append(kc, "--kind", "ExternalSecret", "default/pub", repo.Dir)...); code != exitUsage {
		t.Errorf("--kind ExternalSecret exited %d, want %d", code, exitUsage)
	}
	checkOutlets(t, &c, kube, "default", outputs)
}
