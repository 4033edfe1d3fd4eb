package render_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/hostile"
	"github.com/secretsync/secretsync/render"
)

// FuzzFolderRender: any YAML file in a folder renders or fails per object;
// it never panics, never reads past the repo, and a document it does not
// understand never vanishes: every document is an object, a skip or an
// error.
func FuzzFolderRender(f *testing.F) {
	f.Add(es("x", "k"))
	f.Add(store + "---\n" + es("y", "k"))
	f.Add("apiVersion: external-secret.io/v1\nkind: ExternalSecret\nmetadata: {name: t}\n")
	f.Add("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: hunter2}\n")
	f.Add(hostile.AliasBomb())
	f.Add("a: &a [*a]\n")
	f.Add("kind: [unclosed\n")
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err != nil {
			return
		}
		for _, e := range set.Errors {
			if e.Source != "x.yaml" {
				t.Fatalf("an error from %q", e.Source)
			}
		}
		if strings.TrimSpace(content) != "" && !strings.HasPrefix(strings.TrimSpace(content), "#") &&
			len(set.ExternalSecrets)+len(set.Stores)+len(set.Skipped)+len(set.Errors) == 0 && strings.Contains(content, "kind") {
			t.Fatalf("a file naming a kind rendered to nothing at all")
		}
	})
}

// FuzzKustomizationRender: any kustomization over one resource file builds
// or fails with an error; nothing outside the repo is ever read.
func FuzzKustomizationRender(f *testing.F) {
	f.Add("resources: [es.yaml]\n", es("x", "k"))
	f.Add("namespace: team\nresources: [es.yaml]\n", es("x", "k"))
	f.Add("resources: [../outside]\n", es("x", "k"))
	f.Add("resources: [https://example.com/x]\n", es("x", "k"))
	f.Add("resources: [es.yaml]\npatches: [{path: /etc/passwd}]\n", es("x", "k"))
	f.Add("resources: [es.yaml]\n", hostile.AliasBomb())
	f.Add("resources: [es.yaml]\nnamePrefix: p-\ncommonLabels: {a: b}\n", es("x", "k"))
	f.Fuzz(func(t *testing.T, kustomization, resource string) {
		root := t.TempDir()
		outside := filepath.Join(root, "outside")
		repo := filepath.Join(root, "repo")
		for _, d := range []string{outside, repo} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(outside, "kustomization.yaml"), []byte("resources: [leak.yaml]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, "leak.yaml"), []byte(es("leaked-from-outside", "k")), 0o644); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"kustomization.yaml": kustomization, "es.yaml": resource} {
			if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		set, err := render.Render(context.Background(), repo, ".", render.Options{})
		if err != nil {
			return
		}
		for _, e := range set.ExternalSecrets {
			if strings.Contains(e.Name, "leaked-from-outside") {
				t.Fatal("rendered a file from outside the repo")
			}
		}
	})
}
