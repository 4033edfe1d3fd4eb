package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/gittest"
)

// TestReviewOfAPullRequestRunsNothing: validate, render, plan and diff of
// a kustomization that names a remote or a program to run (a remote
// transformer, generator, validator, resource or component; a Helm chart)
// start no program: PATH holds only sentinels (git, sh, bash, kustomize,
// helm, kubectl) that record their start, and none may. Each refusal names
// the file and the field.
func TestReviewOfAPullRequestRunsNothing(t *testing.T) {
	const remote = "github.com/attacker/repo//t?ref=main"
	es := "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app, namespace: demo}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: k}}]\n"
	for field, kust := range map[string]string{
		"transformers":                "resources: [es.yaml]\ntransformers:\n- " + remote + "\n",
		"generators":                  "resources: [es.yaml]\ngenerators:\n- " + remote + "\n",
		"validators":                  "resources: [es.yaml]\nvalidators:\n- " + remote + "\n",
		"resources":                   "resources:\n- es.yaml\n- " + remote + "\n",
		"components":                  "resources: [es.yaml]\ncomponents:\n- " + remote + "\n",
		"helmCharts":                  "resources: [es.yaml]\nhelmCharts: [{name: x, repo: https://charts.example.com, version: 1.0.0}]\n",
		"helmGlobals":                 "resources: [es.yaml]\nhelmGlobals: {chartHome: charts}\n",
		"helmChartInflationGenerator": "resources: [es.yaml]\nhelmChartInflationGenerator: [{chartName: x, chartRepoUrl: https://charts.example.com}]\n",
		"nested transformers":         "resources: [base]\n",
	} {
		t.Run(field, func(t *testing.T) {
			sentinels, started := t.TempDir(), filepath.Join(t.TempDir(), "started")
			for _, name := range []string{"git", "sh", "bash", "kustomize", "helm", "kubectl"} {
				script := "#!/bin/sh\necho \"$0 $*\" >> " + started + "\nexit 1\n"
				if err := os.WriteFile(filepath.Join(sentinels, name), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			repo, err := gittest.Init(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := repo.Commit("base", map[string]string{"secrets/es.yaml": es, "secrets/kustomization.yaml": "resources: [es.yaml]\n"}); err != nil {
				t.Fatal(err)
			}
			file, want := "secrets/kustomization.yaml", field
			files := map[string]string{"secrets/kustomization.yaml": kust}
			if field == "nested transformers" {
				file, want = "secrets/base/kustomization.yaml", "transformers"
				files["secrets/base/kustomization.yaml"] = "resources: [../es.yaml]\ntransformers:\n- " + remote + "\n"
			}
			for name, body := range files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			kubeconfig := filepath.Join(dir, "kubeconfig")
			cfg := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
			if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "secrets")
			t.Setenv("PATH", sentinels)
			for cmd, args := range map[string][]string{
				"validate": {path},
				"render":   {path},
				"plan":     {"--base", "main", path},
				"diff":     {"--kubeconfig", kubeconfig, "--inventory-namespace", "default", path},
			} {
				var out, errOut bytes.Buffer
				code := cli(cmd, args, &out, &errOut)
				if b, err := os.ReadFile(started); err == nil {
					t.Fatalf("%s started a program:\n%s", cmd, b)
				}
				all := out.String() + errOut.String()
				if code == exitClean || !strings.Contains(all, file) || !strings.Contains(all, want) {
					t.Fatalf("%s: exit %d; the refusal must name %s and %s:\n%s", cmd, code, file, want, all)
				}
			}
		})
	}
}
