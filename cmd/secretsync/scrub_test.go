package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/inventory"
)

// checkOutlets is the leak check of the command tests (internal/leaktest's,
// as the reconciler's fixture uses): no piece of a canary in the outputs
// given (command output, logs), the Events of namespace, or the inventory
// ConfigMaps there (summary, annotations, every shard's rows).
func checkOutlets(t *testing.T, c *leaktest.Canaries, kube *testenv.Env, namespace string, outputs map[string]string) {
	t.Helper()
	ctx := context.Background()
	events, err := kube.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	for _, e := range events.Items {
		evs = append(evs, e.InvolvedObject.Name+"/"+e.Reason+": "+e.Message)
	}
	c.Check(t, "the Events", strings.Join(evs, "\n"))
	cms, err := kube.Client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if !strings.HasPrefix(cm.Name, inventory.Name("")) {
			continue
		}
		meta, _ := json.Marshal(cm.Annotations)
		text := cm.Data["summary"] + "\n" + string(meta)
		if inv, err := inventory.ReadInventory(ctx, kube.Client, &cm); err == nil {
			rows, _ := json.Marshal(inv)
			text += "\n" + string(rows)
		}
		c.Check(t, "inventory ConfigMap "+cm.Name, text)
	}
	for name, out := range outputs {
		c.Check(t, name, out)
	}
}

// TestNoCommandPrintsAPieceOfAValue seeds canaries in Secrets Manager that
// templates put where the API server refuses them (a label value, a key
// name), runs passes (run --once at debug level, and a running instance
// asked by reconcile), and then every command that prints what a pass did
// or would do: status (table, wide, json), explain, diff (table, json),
// plan with --check-remote (which reads values) as a table, markdown and
// GitHub annotations, and validate -o github. None may print an 8-byte
// piece of a canary, nor may the Events or the inventory hold one.
func TestNoCommandPrintsAPieceOfAValue(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Stop() }) // after startRun's cleanup stops the process
	sm := awstest.StartSM(t)
	var c leaktest.Canaries
	refused := leaktest.Canary()[:16] + "!" + leaktest.Canary()[:16] // "!" is valid in no label and no key
	plain := leaktest.Canary()
	c.Add(refused, plain)
	sm.Create(t, "app/refused", refused)
	sm.Create(t, "app/db", `{"username":"app","password":"`+plain+`"}`)

	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	es := func(name, target, data string) string {
		return "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: " + name + ", namespace: default}\nspec:\n  secretStoreRef: {name: aws}\n" +
			"  target: " + target + "\n  data: [" + data + "]\n"
	}
	files := map[string]string{"secrets.yaml": "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: default}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n" +
		es("label", "{template: {metadata: {labels: {x: '{{ .v }}'}}}}", "{secretKey: v, remoteRef: {key: app/refused}}") +
		es("key", "{template: {templateFrom: [{literal: '{{ .v }}: x'}]}}", "{secretKey: v, remoteRef: {key: app/refused}}") +
		es("db", "{name: db}", "{secretKey: password, remoteRef: {key: app/db, property: password}}")}
	if _, err := repo.Commit("add", files); err != nil {
		t.Fatal(err)
	}
	kc := []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default"}
	outputs := map[string]string{}
	run := func(name string, want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli(name, args, &out, &errOut)
		label := "secretsync " + name + " " + strings.Join(args, " ")
		outputs[label+" (stdout)"], outputs[label+" (stderr)"] = out.String(), errOut.String()
		if code != want {
			t.Fatalf("%s exited %d, want %d:\n%s", label, code, want, c.Mask(out.String()+errOut.String()))
		}
		return out.String()
	}
	run("run", exitFindings, append(kc, "--once", "--log-level", "debug", "--repo", "file://"+repo.Dir, "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work"))...)

	table := run("status", 0, kc...)
	if !strings.Contains(table, "default/label") || !strings.Contains(table, "ApplyFailed") {
		t.Fatalf("status does not show the refusal:\n%s", c.Mask(table))
	}
	run("status", 0, append(kc, "-o", "wide")...)
	if js := run("status", 0, append(kc, "-o", "json")...); !strings.Contains(js, "Invalid value") || !strings.Contains(js, "[REDACTED]") {
		t.Fatalf("status -o json does not name the refusal with the value taken out:\n%s", c.Mask(js))
	}
	for _, target := range []string{"default/label", "default/key", "default/db"} {
		run("explain", 0, append(kc, target, repo.Dir)...)
	}
	diff := append(kc, "--aws-endpoint", sm.URL, repo.Dir)
	run("diff", exitFindings, diff...)
	run("diff", exitFindings, append(diff, "-o", "json")...)

	// The working tree adds an ExternalSecret whose property is missing:
	// plan --check-remote reads the remote value to say so.
	if err := os.WriteFile(filepath.Join(repo.Dir, "more.yaml"), []byte(strings.TrimPrefix(
		es("more", "{name: more}", "{secretKey: p, remoteRef: {key: app/db, property: pasword}}"), "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"table", "markdown", "github"} {
		run("plan", exitFindings, "--base", "main", "--check-remote", "--aws-endpoint", sm.URL, "-o", o, repo.Dir)
	}
	run("validate", exitClean, "-o", "github", repo.Dir)
	if err := os.Remove(filepath.Join(repo.Dir, "more.yaml")); err != nil {
		t.Fatal(err)
	}

	// A running instance, asked for a pass by reconcile, which prints
	// the pass's result (its first error) from the inventory.
	logs := startRun(t, kube.Kubeconfig, []string{refused, plain}, "--repo", "file://"+repo.Dir, "--interval", "1h", "--log-level", "debug",
		"--inventory-namespace", "default", "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work2"))
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), `"message":"pass"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the instance ran no pass:\n%s", c.Mask(logs.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := run("reconcile", exitFindings, append(kc, "--timeout", "60s")...); !strings.Contains(got, "Invalid value") {
		t.Fatalf("reconcile does not print the refusal: %s", c.Mask(got))
	}
	outputs["secretsync run (its log at debug level)"] = logs.String()
	checkOutlets(t, &c, kube, "default", outputs)
}
