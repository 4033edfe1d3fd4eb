package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
)

// TestPlanCheckRemoteSaysWhetherPushedSecretsExistAndAreOurs: a pull
// request adding PushSecrets to Secrets Manager (smserver) and Parameter
// Store (kumo) gets, per remote secret, "exists, ours", "exists, NOT
// ours: run would refuse to write it" (a finding: exit 1), "exists,
// scheduled for deletion: run would refuse to write it ..." (a finding) or
// "absent: run creates it", reading no value: the seeded values appear in
// no output, and no GetSecretValue is made.
func TestPlanCheckRemoteSaysWhetherPushedSecretsExistAndAreOurs(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	stores := `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: sm, namespace: shop}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: ps, namespace: shop}
spec: {provider: {aws: {service: ParameterStore, region: us-east-1}}}
`
	if _, err := repo.Commit("base", map[string]string{"push/stores.yaml": stores}); err != nil {
		t.Fatal(err)
	}
	push := func(name, store string, remotes ...string) string {
		s := "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n  secretStoreRefs: [{name: " + store + "}]\n  selector: {secret: {name: src}}\n  data:\n"
		for _, r := range remotes {
			s += "  - match: {secretKey: k, remoteRef: {remoteKey: " + r + "}}\n"
		}
		return s
	}
	head := stores + "---\n" + push("to-sm", "sm", "shop/ours", "shop/hand", "shop/absent", "shop/deleting") + "---\n" + push("to-ps", "ps", "/checkpush/ours", "/checkpush/hand", "/checkpush/absent")
	if err := os.WriteFile(filepath.Join(dir, "push", "stores.yaml"), []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	var canaries leaktest.Canaries
	seeded := func() string { c := leaktest.Canary(); canaries.Add(c); return c }
	sm := awstest.StartSM(t)
	sm.CreateTagged(t, "shop/ours", seeded(), map[string]string{providers.ManagedByTag: providers.ManagedByValue})
	sm.Create(t, "shop/hand", seeded())
	sm.CreateTagged(t, "shop/deleting", seeded(), map[string]string{providers.ManagedByTag: providers.ManagedByValue})
	if _, err := sm.Client().DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: awssdk.String("shop/deleting")}); err != nil {
		t.Fatal(err)
	}
	ssm := awstest.StartSSM(t)
	ssm.Put(t, "/checkpush/ours", "SecureString", seeded(), map[string]string{providers.ManagedByTag: providers.ManagedByValue})
	ssm.Put(t, "/checkpush/hand", "String", seeded(), nil)
	ssm.Requests()

	for _, format := range []string{"table", "json", "markdown"} {
		var out, errOut bytes.Buffer
		code := cli("plan", []string{"--base", "main", "-o", format, "--check-remote", "--aws-endpoint", sm.URL, "--ssm-endpoint", ssm.URL, filepath.Join(dir, "push")}, &out, &errOut)
		canaries.Check(t, "plan -o "+format, out.String()+errOut.String())
		if code != exitFindings {
			t.Fatalf("-o %s: exit %d, want %d (three refused writes)\n%s%s", format, code, exitFindings, out.String(), errOut.String())
		}
		if format != "table" {
			continue
		}
		want := map[string]string{
			"shop/ours in SecretStore/shop/sm": "exists, ours", "shop/hand in SecretStore/shop/sm": "exists, NOT ours: run would refuse to write it",
			"shop/absent in SecretStore/shop/sm": "absent: run creates it", "/checkpush/ours in SecretStore/shop/ps": "exists, ours",
			"shop/deleting in SecretStore/shop/sm":   "exists, scheduled for deletion: run would refuse to write it until it is restored or its recovery window ends",
			"/checkpush/hand in SecretStore/shop/ps": "exists, NOT ours: run would refuse to write it", "/checkpush/absent in SecretStore/shop/ps": "absent: run creates it",
		}
		got := map[string]string{}
		lines := strings.Split(out.String(), "\n")
		for i, l := range lines[1:] {
			if note, ok := strings.CutPrefix(strings.TrimSpace(l), "AWS: "); ok {
				row := strings.Fields(lines[i])
				got[row[1]+" in "+row[3]] = note
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("remote notes (-want +got):\n%s\n%s", diff, out.String())
		}
	}
	if n := sm.SM.Calls()["GetSecretValue"]; n != 0 {
		t.Errorf("--check-remote read %d Secrets Manager values", n)
	}
	for _, r := range ssm.Requests() {
		if r.Operation != "DescribeParameters" && r.Operation != "ListTagsForResource" {
			t.Errorf("--check-remote called Parameter Store's %s", r.Operation)
		}
	}
}
