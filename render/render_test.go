package render_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/render"
)

// tree writes files (path -> content) below a new temp dir.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const store = `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws}
spec:
  provider:
    aws: {service: SecretsManager, region: eu-west-1}
`

func es(name, key string) string {
	return `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: ` + name + `}
spec:
  secretStoreRef: {name: aws}
  data:
    - secretKey: value
      remoteRef: {key: ` + key + `}
`
}

func mustRender(t *testing.T, dir, path string) *render.Set {
	t.Helper()
	set, err := render.Render(context.Background(), dir, path, render.Options{})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return set
}

type summary struct{ Kind, Namespace, Name, Source string }

func summarize(set *render.Set) []summary {
	var out []summary
	for _, s := range set.Stores {
		out = append(out, summary{s.Kind, s.Namespace, s.Name, s.Source})
	}
	for _, e := range set.ExternalSecrets {
		out = append(out, summary{e.Kind, e.Namespace, e.Name, e.Source})
	}
	return out
}

func errorTexts(set *render.Set) []string {
	var out []string
	for _, e := range set.Errors {
		out = append(out, e.Error())
	}
	return out
}

func TestKustomizeOverlayKeepsEachObjectsFile(t *testing.T) {
	dir := tree(t, map[string]string{
		"base/kustomization.yaml":          "resources: [store.yaml, db.yaml]\n",
		"base/store.yaml":                  store,
		"base/db.yaml":                     es("db", "prod/db"),
		"overlays/prod/kustomization.yaml": "namespace: prod\nresources: [../../base, api.yaml]\n",
		"overlays/prod/api.yaml":           es("api", "prod/api"),
	})
	set := mustRender(t, dir, "overlays/prod")
	want := []summary{
		{"SecretStore", "prod", "aws", "base/store.yaml"},
		{"ExternalSecret", "prod", "api", "overlays/prod/api.yaml"},
		{"ExternalSecret", "prod", "db", "base/db.yaml"},
	}
	if diff := cmp.Diff(want, summarize(set)); diff != "" {
		t.Fatalf("rendered objects (-want +got):\n%s", diff)
	}
	if len(set.Errors) != 0 {
		t.Fatalf("errors: %v", errorTexts(set))
	}
	for _, e := range set.ExternalSecrets {
		if _, ok := e.Annotations["config.kubernetes.io/origin"]; ok {
			t.Fatalf("%s keeps kustomize's origin annotation", e.Name)
		}
	}
}

func TestAFolderWithoutKustomizationIsAllItsYAML(t *testing.T) {
	dir := tree(t, map[string]string{
		"secrets/store.yaml":         store,
		"secrets/team-a/apps.yml":    es("a", "k/a") + "---\n# only a comment\n---\n" + es("b", "k/b"),
		"secrets/README.md":          "not yaml",
		"secrets/team-a/config.json": "{}",
	})
	set := mustRender(t, dir, "secrets")
	want := []summary{
		{"SecretStore", "default", "aws", "secrets/store.yaml"},
		{"ExternalSecret", "default", "a", "secrets/team-a/apps.yml"},
		{"ExternalSecret", "default", "b", "secrets/team-a/apps.yml"},
	}
	if diff := cmp.Diff(want, summarize(set)); diff != "" {
		t.Fatalf("rendered objects (-want +got):\n%s", diff)
	}
}

func TestV1beta1DecodesLikeV1(t *testing.T) {
	dir := tree(t, map[string]string{
		"es.yaml": strings.Replace(es("old", "k"), "external-secrets.io/v1", "external-secrets.io/v1beta1", 1),
	})
	set := mustRender(t, dir, ".")
	if len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Spec.Data[0].RemoteRef.Key != "k" {
		t.Fatalf("v1beta1 object not decoded: %+v, errors %v", set.ExternalSecrets, errorTexts(set))
	}
}

func TestNestedFieldsDecode(t *testing.T) {
	dir := tree(t, map[string]string{"es.yaml": `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: full, namespace: team}
spec:
  secretStoreRef: {name: aws, kind: ClusterSecretStore}
  refreshInterval: 15m
  target: {name: out, creationPolicy: Owner}
  data:
    - secretKey: pw
      remoteRef: {key: db, property: a.b, version: uuid/123, decodingStrategy: Base64}
  dataFrom:
    - extract: {key: all, version: AWSPREVIOUS}
      sourceRef: {storeRef: {name: other, kind: SecretStore}}
`})
	set := mustRender(t, dir, ".")
	if len(set.Errors) > 0 {
		t.Fatal(errorTexts(set))
	}
	got := set.ExternalSecrets[0].Spec
	want := render.ExternalSecretSpec{
		SecretStoreRef:  render.SecretStoreRef{Name: "aws", Kind: "ClusterSecretStore"},
		RefreshInterval: got.RefreshInterval,
		Target:          render.Target{Name: "out", CreationPolicy: "Owner"},
		Data: []render.Data{{SecretKey: "pw", RemoteRef: render.RemoteRef{
			Key: "db", Property: "a.b", Version: "uuid/123", DecodingStrategy: "Base64"}}},
		DataFrom: []render.DataFrom{{
			Extract:   &render.RemoteRef{Key: "all", Version: "AWSPREVIOUS"},
			SourceRef: &render.SourceRef{StoreRef: &render.SecretStoreRef{Name: "other", Kind: "SecretStore"}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("spec (-want +got):\n%s", diff)
	}
	if got.RefreshInterval == nil || got.RefreshInterval.Minutes() != 15 {
		t.Fatalf("refreshInterval = %v", got.RefreshInterval)
	}
}

func TestPerObjectErrorsNameFileObjectAndField(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"an unknown field is an error, not ignored", es("x", "k") + "  refreshIntervall: 1h\n",
			`x.yaml: ExternalSecret default/x: unknown field "spec.refreshIntervall"`},
		{"a missing remote key", strings.Replace(es("x", "k"), "remoteRef: {key: k}", "remoteRef: {property: p}", 1),
			"x.yaml: ExternalSecret default/x: spec.data[0].remoteRef.key: required"},
		{"a duplicate secretKey", es("x", "k") + "    - secretKey: value\n      remoteRef: {key: other}\n",
			`x.yaml: ExternalSecret default/x: spec.data[1].secretKey: "value" is also set by spec.data[0]`},
		{"neither data nor dataFrom", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {secretStoreRef: {name: aws}}\n",
			"x.yaml: ExternalSecret default/x: spec: data or dataFrom is required"},
		{"a Secret carrying values", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: hunter2}\n",
			"x.yaml: Secret default/x: data: a Secret with values is refused: values do not belong in Git"},
		{"a provider other than aws", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: x}\nspec: {provider: {vault: {server: v}}}\n",
			`spec.provider.vault: provider "vault" is not supported`},
		{"a feature not built yet is refused, not dropped", strings.Replace(es("x", "k"), "remoteRef: {key: k}", "remoteRef: {key: k}\n      sourceRef: {generatorRef: {name: g}}", 1),
			"spec.data[0].sourceRef.generatorRef: generatorRef is not supported yet"},
		{"a template that does not parse", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {data: {k: '{{ .v '}}}\n", 1),
			"spec.target.template.data.k: template: k:1: unclosed action"},
		{"broken YAML names the file", "apiVersion: v1\nkind: [unclosed\n", "x.yaml: document 1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tree(t, map[string]string{"x.yaml": c.file, "ok.yaml": es("fine", "k")})
			set := mustRender(t, dir, ".")
			errs := errorTexts(set)
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Fatalf("errors = %q, want one containing %q", errs, c.want)
			}
			if len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Name != "fine" {
				t.Fatalf("the good object next to the broken one was not kept: %+v", summarize(set))
			}
			if strings.Contains(strings.Join(errs, ""), "hunter2") {
				t.Fatal("an error quotes the Secret's value")
			}
		})
	}
}

func TestOtherKindsAreSkipped(t *testing.T) {
	dir := tree(t, map[string]string{
		"cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
		"push.yaml": "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p}\nspec: {}\n",
		"es.yaml":   es("x", "k"),
	})
	set := mustRender(t, dir, ".")
	var kinds []string
	for _, s := range set.Skipped {
		kinds = append(kinds, s.Kind)
	}
	if diff := cmp.Diff([]string{"ConfigMap", "PushSecret"}, kinds); diff != "" {
		t.Fatalf("skipped (-want +got):\n%s", diff)
	}
}

func TestTheRepoIsConfined(t *testing.T) {
	outside := tree(t, map[string]string{"leak.yaml": es("leak", "k"), "kustomization.yaml": "resources: [leak.yaml]\n"})

	t.Run("a remote base is refused with a clear error", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources:\n  - https://github.com/example/repo//secrets?ref=main\n"})
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "remote bases are refused") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a remote patch file is refused", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources: [es.yaml]\npatches:\n  - path: https://example.com/p.yaml\n", "es.yaml": es("x", "k")})
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "is remote") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a base outside the repo does not exist", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources: [" + outside + "]\n"})
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil {
			t.Fatal("a kustomization reached a folder outside the repo")
		}
	})
	t.Run("a symlink out of the repo is not followed", func(t *testing.T) {
		dir := tree(t, map[string]string{"es.yaml": es("x", "k")})
		if err := os.Symlink(filepath.Join(outside, "leak.yaml"), filepath.Join(dir, "leak.yaml")); err != nil {
			t.Fatal(err)
		}
		set := mustRender(t, dir, ".")
		for _, e := range set.ExternalSecrets {
			if e.Name == "leak" {
				t.Fatal("rendered a file from outside the repo through a symlink")
			}
		}
	})
	t.Run("a path that climbs out is refused", func(t *testing.T) {
		dir := tree(t, map[string]string{"es.yaml": es("x", "k")})
		if _, err := render.Render(context.Background(), dir, "../", render.Options{}); err == nil {
			t.Fatal("path ../ was accepted")
		}
	})
}

func TestExamplesRender(t *testing.T) {
	examples, err := filepath.Glob("../examples/*")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, ex := range examples {
		if st, err := os.Stat(ex); err != nil || !st.IsDir() || filepath.Base(ex) == "ci" {
			continue // examples/ci holds CI jobs, checked in cmd/secretsync
		}
		t.Run(filepath.Base(ex)+" renders cleanly", func(t *testing.T) {
			set := mustRender(t, ex, ".")
			if len(set.Errors) > 0 {
				t.Fatal(errorTexts(set))
			}
			if len(set.ExternalSecrets) == 0 {
				t.Fatal("no ExternalSecrets")
			}
		})
	}
}
