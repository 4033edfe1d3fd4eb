package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/testenv"
)

func TestFlagsFallBackToEnvironment(t *testing.T) {
	t.Setenv("SECRETSYNC_REPO", "https://example.com/from-env.git")
	t.Setenv("SECRETSYNC_INTERVAL", "5m")
	c, err := parseRun([]string{"--ref", "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.repo != "https://example.com/from-env.git" || c.ref != "v1" || c.interval.Minutes() != 5 {
		t.Fatalf("repo %q ref %q interval %s", c.repo, c.ref, c.interval)
	}
	c, _ = parseRun([]string{"--repo", "file:///flag"})
	if c.repo != "file:///flag" {
		t.Fatalf("the flag did not win over the environment: %q", c.repo)
	}
}

func TestAConfigFileSitsBetweenFlagsAndEnvironment(t *testing.T) {
	t.Setenv("SECRETSYNC_REF", "from-env")
	t.Setenv("SECRETSYNC_PATH", "env-path")
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("repo: https://example.com/cfg.git\nref: from-file\ninterval: 2m\nnamespaces: [a, b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseRun([]string{"--config", file, "--interval", "3m"})
	if err != nil {
		t.Fatal(err)
	}
	if c.repo != "https://example.com/cfg.git" || c.ref != "from-file" || c.path != "env-path" || c.interval.Minutes() != 3 || c.namespaces != "a,b" {
		t.Fatalf("repo %q ref %q path %q interval %s namespaces %q", c.repo, c.ref, c.path, c.interval, c.namespaces)
	}
	if err := os.WriteFile(file, []byte("repo: x\nrefz: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseRun([]string{"--config", file}); err == nil || !strings.Contains(err.Error(), `unknown setting "refz"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Setenv("SECRETSYNC_REPO", "")
	var out bytes.Buffer
	if code := cli("run", []string{"--once"}, io.Discard, &out); code != 2 || !strings.Contains(out.String(), "--repo") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
}

// TestRunOnce drives the command itself against the real control plane,
// smserver and a file:// repo.
func TestRunOnce(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()
	sm := awstest.StartSM(t)
	const value = "run-once-seeded-value"
	sm.Create(t, "app/key", value)

	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("add", map[string]string{"secrets.yaml": `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app}
spec:
  secretStoreRef: {name: aws}
  data: [{secretKey: key, remoteRef: {key: app/key}}]
`}); err != nil {
		t.Fatal(err)
	}
	args := []string{"--once", "--repo", "file://" + repo.Dir, "--kubeconfig", kube.Kubeconfig,
		"--inventory-namespace", "default", "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work")}

	var logs bytes.Buffer
	if code := cli("run", args, io.Discard, &logs); code != 0 {
		t.Fatalf("exit %d; logs:\n%s", code, redact(logs.String(), value))
	}
	for _, field := range []string{`"revision":"main@sha1:`, `"applied":1`, `"unchanged":0`, `"pruned":0`, `"failed":0`, `"duration_seconds":`} {
		if !strings.Contains(logs.String(), field) {
			t.Fatalf("summary line lacks %s:\n%s", field, redact(logs.String(), value))
		}
	}

	// Each run --once is a new process: it decides from the inventory's
	// rows, as a running instance does from memory (ESO's status).
	t.Run("a second run --once fetches no value whose refresh is not due", func(t *testing.T) {
		const rotated = "run-once-rotated-value"
		sm.Put(t, "app/key", rotated)
		sm.SM.ResetCalls()
		var again bytes.Buffer
		if code := cli("run", args, io.Discard, &again); code != 0 {
			t.Fatalf("exit %d; logs:\n%s", code, redact(redact(again.String(), value), rotated))
		}
		if n := sm.SM.Reads()["app/key"]; n != 0 {
			t.Fatalf("app/key read %d times; its refreshInterval (1h) has not passed", n)
		}
		s, err := kube.Client.CoreV1().Secrets("default").Get(context.Background(), "app", metav1.GetOptions{})
		if err != nil || string(s.Data["key"]) != value {
			t.Fatalf("secret default/app changed (%v)", err)
		}
		if strings.Contains(again.String(), rotated) {
			t.Fatal("the rotated value appears in the logs")
		}
	})

	t.Run("status shows the ExternalSecret as ready, in a table and as JSON", func(t *testing.T) {
		var out, errOut bytes.Buffer
		sargs := []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default"}
		if code := cli("status", sargs, &out, &errOut); code != 0 || !strings.Contains(out.String(), "default/app") || !strings.Contains(out.String(), "Synced") {
			t.Fatalf("exit %d, output:\n%s%s", code, out.String(), errOut.String())
		}
		out.Reset()
		if code := cli("status", append(sargs, "-o", "json"), &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		var got statusJSON
		if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.ExternalSecrets) != 1 || !got.ExternalSecrets[0].Ready {
			t.Fatalf("json %s: %v", out.String(), err)
		}
	})

	t.Run("explain answers for a Secret that does not exist, and for one that is not ours", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := cli("explain", []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default", "default/never", repo.Dir}, &out, &errOut); code != 0 ||
			!strings.Contains(out.String(), "in the cluster:  does not exist") || !strings.Contains(out.String(), "no ExternalSecret in") {
			t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
		}
		// A ConfigMap target of the name does not produce the Secret.
		cmDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(cmDir, "settings.yaml"), []byte("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: default}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n---\n"+
			"apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: settings, namespace: default}\nspec:\n  secretStoreRef: {name: aws}\n  target: {name: never, manifest: {apiVersion: v1, kind: ConfigMap}}\n  data: [{secretKey: k, remoteRef: {key: app/key}}]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if code := cli("explain", []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default", "default/never", cmDir}, &out, &errOut); code != 0 ||
			!strings.Contains(out.String(), "no ExternalSecret in") {
			t.Fatalf("a ConfigMap target explains the Secret: exit %d:\n%s%s", code, out.String(), errOut.String())
		}
		foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: "default"}, StringData: map[string]string{"k": "v"}}
		if _, err := kube.Client.CoreV1().Secrets("default").Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if code := cli("explain", []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default", "default/theirs", repo.Dir}, &out, &errOut); code != 0 ||
			!strings.Contains(out.String(), "will not take it over") {
			t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
		}
	})

	t.Run("explain names the file, the ExternalSecret and the reference", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := cli("explain", []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default", "default/app", repo.Dir}, &out, &errOut)
		for _, want := range []string{"ExternalSecret:  default/app", "file:            secrets.yaml", "<- SecretStore/aws: key app/key", "ready=true"} {
			if code != 0 || !strings.Contains(out.String(), want) {
				t.Fatalf("exit %d, output lacks %q:\n%s%s", code, want, out.String(), errOut.String())
			}
		}
	})

	t.Run("diff reports a changed key by name, not value, and writes nothing", func(t *testing.T) {
		sm.Create(t, "app/other", "other-seeded-value")
		b, _ := os.ReadFile(filepath.Join(repo.Dir, "secrets.yaml"))
		if err := os.WriteFile(filepath.Join(repo.Dir, "secrets.yaml"), []byte(strings.Replace(string(b), "key: app/key}", "key: app/other}", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(filepath.Join(repo.Dir, "secrets.yaml"), b, 0o644)
		var out, errOut bytes.Buffer
		code := cli("diff", []string{"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default", "--aws-endpoint", sm.URL, repo.Dir}, &out, &errOut)
		if code != exitFindings || !strings.Contains(out.String(), "change  default/app ~key") {
			t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
		}
		if strings.Contains(out.String(), "other-seeded-value") || strings.Contains(out.String(), value) {
			t.Fatal("diff printed a value")
		}
	})

	// Without its Secret the values are due: the pass fetches, and fails.
	sm.Delete(t, "app/key")
	if err := kube.Client.CoreV1().Secrets("default").Delete(context.Background(), "app", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if code := cli("run", args, io.Discard, &logs); code != 1 {
		t.Fatalf("a failed pass exited %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "secretsmanager:app/key") {
		t.Fatalf("the error does not name the reference:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), value) {
		t.Fatal("the seeded value appears in the logs")
	}
}

func redact(s, v string) string { return strings.ReplaceAll(s, v, "[SEEDED VALUE]") }

func TestAKubeconfigListIsMergedAsKubectlDoes(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:6443\"}}]\nusers: [{name: u, user: {token: t}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("apiVersion: v1\nkind: Config\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", a+string(filepath.ListSeparator)+b)
	cfg, err := (&clusterFlags{}).restConfig()
	if err != nil || cfg.Host != "https://127.0.0.1:6443" {
		t.Fatalf("config %+v, err %v", cfg, err)
	}
	if _, err := (&clusterFlags{kubeconfig: filepath.Join(dir, "missing")}).restConfig(); err == nil {
		t.Fatal("a kubeconfig file that does not exist was accepted")
	}
	if _, err := (&clusterFlags{context: "nope"}).restConfig(); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("an unknown --context: %v", err)
	}
}
