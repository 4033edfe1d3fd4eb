package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestValidateReportsAGeneratorReadingAnotherNamespace is issue 23's
// reproduction offline: an STSSessionToken generator in namespace a whose
// auth.secretRef names namespace b was 0 findings; now the generator and
// the ExternalSecret that uses it are findings naming file, object and
// field.
func TestValidateReportsAGeneratorReadingAnotherNamespace(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"gen.yaml": `apiVersion: generators.external-secrets.io/v1alpha1
kind: STSSessionToken
metadata: {name: session, namespace: a}
spec:
  region: us-east-1
  auth:
    secretRef:
      accessKeyIDSecretRef: {name: creds, key: id, namespace: b}
      secretAccessKeySecretRef: {name: creds, key: secret, namespace: b}
`,
		"es.yaml": `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: stolen, namespace: a}
spec:
  dataFrom: [{sourceRef: {generatorRef: {kind: STSSessionToken, name: session}}}]
`,
	})
	var out, errOut bytes.Buffer
	if got := cli("validate", []string{dir, "--namespaces", "a"}, &out, &errOut); got != exitFindings {
		t.Fatalf("exit %d\n%s%s", got, out.String(), errOut.String())
	}
	for _, want := range []string{
		"gen.yaml:8: STSSessionToken a/session: spec.auth.secretRef.accessKeyIDSecretRef.namespace: out of scope: STSSessionToken a/session may only read its own namespace a, not b",
		"es.yaml:5: ExternalSecret a/stolen: spec.dataFrom[0].sourceRef.generatorRef: generator STSSessionToken/a/session is invalid",
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no finding %q in:\n%s", want, out.String())
		}
	}
}

// TestNamespacedOnlyRefusesClusterKindsInValidate: with --namespaced-only
// (or SECRETSYNC_NAMESPACED_ONLY=true) each ClusterSecretStore and
// ClusterExternalSecret is a finding naming it; without, none.
func TestNamespacedOnlyRefusesClusterKindsInValidate(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"css.yaml":   "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n",
		"ces.yaml":   "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {name: everywhere}\nspec:\n  namespaces: [a]\n  externalSecretSpec: {secretStoreRef: {kind: ClusterSecretStore, name: shared}, data: [{secretKey: k, remoteRef: {key: k}}]}\n",
		"store.yaml": "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: a}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n",
		"es.yaml":    "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: fine, namespace: a}\nspec: {secretStoreRef: {name: aws}, data: [{secretKey: k, remoteRef: {key: k}}]}\n",
	})
	var out, errOut bytes.Buffer
	if got := cli("validate", []string{dir}, &out, &errOut); got != exitClean {
		t.Fatalf("without the setting: exit %d\n%s%s", got, out.String(), errOut.String())
	}
	for _, c := range []struct {
		name string
		args []string
		env  string
	}{{"the flag", []string{dir, "--namespaced-only"}, ""}, {"the environment", []string{dir}, "true"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SECRETSYNC_NAMESPACED_ONLY", c.env)
			var out, errOut bytes.Buffer
			if got := cli("validate", c.args, &out, &errOut); got != exitFindings {
				t.Fatalf("exit %d\n%s%s", got, out.String(), errOut.String())
			}
			for _, want := range []string{
				"css.yaml:2: ClusterSecretStore shared: kind: ClusterSecretStore is refused: this instance accepts only namespaced kinds",
				"ces.yaml:2: ClusterExternalSecret everywhere: kind: ClusterExternalSecret is refused",
			} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("no finding %q in:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "ExternalSecret a/fine") || !strings.Contains(errOut.String(), "2 findings") {
				t.Fatalf("the namespaced objects are not findings:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}

// TestRunsSettingsReachTheReconciler: --namespaced-only and
// SECRETSYNC_NAMESPACED_ONLY turn on the refusal of cluster-scoped kinds
// (off by default), and merges are kept out of secretsync's own namespaces
// (the pod's and the inventory's) by default.
func TestRunsSettingsReachTheReconciler(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "secretsync-system")
	c, err := parseRun([]string{"--repo", "file:///r", "--inventory-namespace", "inventories"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.reconcilerConfig()
	if cfg.Render.NamespacedOnly || strings.Join(cfg.OwnNamespaces, ",") != "secretsync-system,inventories" {
		t.Fatalf("defaults: namespaced-only %v, own namespaces %v", cfg.Render.NamespacedOnly, cfg.OwnNamespaces)
	}
	if c, err = parseRun([]string{"--repo", "file:///r", "--namespaced-only"}); err != nil || !c.reconcilerConfig().Render.NamespacedOnly {
		t.Fatalf("the flag: %v", err)
	}
	t.Setenv("SECRETSYNC_NAMESPACED_ONLY", "true")
	if c, err = parseRun([]string{"--repo", "file:///r"}); err != nil || !c.reconcilerConfig().Render.NamespacedOnly {
		t.Fatalf("the environment: %v", err)
	}
}
