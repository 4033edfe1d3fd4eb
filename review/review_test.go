package review_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const seeded = "hunter2-seeded-value"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./review -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", name, diff)
	}
	if bytes.Contains(got, []byte(seeded)) {
		t.Fatalf("%s contains a seeded value", name)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func renderAt(t *testing.T, dir string) *render.Set {
	t.Helper()
	set, err := render.Render(context.Background(), dir, ".", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// examplesChange is examples/basic and a change to it: one mapping
// altered, one ExternalSecret removed, one added with a template, and a
// plaintext Secret that must be refused without showing its value.
func examplesChange(t *testing.T) (base, head string) {
	base, head = t.TempDir(), t.TempDir()
	copyDir(t, "../examples/basic", base)
	copyDir(t, "../examples/basic", head)
	db, _ := os.ReadFile(filepath.Join(head, "database.yaml"))
	write(t, head, "database.yaml", strings.Replace(string(db), "property: password", "property: credentials.password\n        version: AWSPREVIOUS", 1))
	write(t, head, "payments.yaml", "")
	write(t, head, "registry.yaml", `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: registry}
spec:
  secretStoreRef: {name: aws}
  target:
    template:
      type: kubernetes.io/dockerconfigjson
      data: {.dockerconfigjson: '{"auths":{"{{ .host }}":{"auth":"{{ .auth }}"}}}'}
  data:
    - {secretKey: host, remoteRef: {key: demo/registry, property: host}}
    - {secretKey: auth, remoteRef: {key: demo/registry, property: auth}}
`)
	write(t, head, "leak.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: oops}\nstringData: {password: "+seeded+"}\n")
	write(t, head, "kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: demo\nresources: [store.yaml, database.yaml, registry.yaml, leak.yaml]\n")
	return base, head
}

func TestPlanGoldenOnExamples(t *testing.T) {
	base, head := examplesChange(t)
	p := review.MakePlan("main@sha1:base", "head", renderAt(t, base), renderAt(t, head))
	p.Findings = review.Validate(head, renderAt(t, head), review.Options{})
	if p.Summary != (review.Summary{Create: 1, Change: 1, Delete: 1}) || len(p.Findings) != 1 {
		t.Fatalf("summary %+v, findings %v", p.Summary, p.Findings)
	}
	var table, md, js bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil {
		t.Fatal(err)
	}
	_ = review.WriteMarkdown(&md, p)
	_ = review.WriteJSON(&js, p)
	golden(t, "plan-examples.txt", table.Bytes())
	golden(t, "plan-examples.md", md.Bytes())
	golden(t, "plan-examples.json", js.Bytes())

	t.Run("colour never moves a column", func(t *testing.T) {
		var colored bytes.Buffer
		if err := review.WriteTable(&colored, p, true); err != nil {
			t.Fatal(err)
		}
		plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored.String(), "")
		if plain == colored.String() {
			t.Fatal("no colour was written")
		}
		if plain != table.String() {
			t.Fatalf("with colour codes removed, the table differs:\n%s\nwant:\n%s", plain, table.String())
		}
	})
}

// generated writes n ExternalSecrets across 20 overlays under one root
// kustomization, with every fifth one changed in the head.
func generated(t *testing.T, dir string, n int, head bool) {
	t.Helper()
	var roots []string
	for o := range 20 {
		ns := fmt.Sprintf("team-%02d", o)
		od := filepath.Join(dir, "overlays", ns)
		if err := os.MkdirAll(od, 0o755); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, "overlays/"+ns)
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
		for i := o; i < n; i += 20 {
			prop := "password"
			if head && i%5 == 0 {
				prop = "password_v2"
			}
			fmt.Fprintf(&b, "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app-%04d}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: password, remoteRef: {key: apps/app-%04d, property: %s}}]\n", i, i, prop)
		}
		write(t, od, "secrets.yaml", b.String())
		write(t, od, "kustomization.yaml", "namespace: "+ns+"\nresources: [secrets.yaml]\n")
	}
	write(t, dir, "kustomization.yaml", "resources:\n  - "+strings.Join(roots, "\n  - ")+"\n")
}

func TestPlanGoldenOnAGeneratedRepo(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	generated(t, base, 100, false)
	generated(t, head, 100, true)
	p := review.MakePlan("main", "head", renderAt(t, base), renderAt(t, head))
	if p.Summary.Change != 20 {
		t.Fatalf("summary %+v", p.Summary)
	}
	var md bytes.Buffer
	_ = review.WriteMarkdown(&md, p)
	golden(t, "plan-generated.md", md.Bytes())
}

func TestValidateFindsEachProblemWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: team}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
	write(t, dir, "typo.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: typo, namespace: team}\nspec:\n  secretStoreRef: {name: aws}\n  data:\n    - secretKey: a\n      remoteRef:\n        key: k\n        propertee: x\n")
	write(t, dir, "nostore.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: nostore, namespace: team}\nspec:\n  secretStoreRef: {name: missing}\n  data: [{secretKey: a, remoteRef: {key: k}}]\n")
	write(t, dir, "twins.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: one, namespace: team}\nspec:\n  secretStoreRef: {name: aws}\n  target: {name: shared}\n  data: [{secretKey: a, remoteRef: {key: k}}]\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: two, namespace: team}\nspec:\n  secretStoreRef: {name: aws}\n  target: {name: shared}\n  data: [{secretKey: b, remoteRef: {key: k}}]\n")
	write(t, dir, "elsewhere.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: far, namespace: other}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: a, remoteRef: {key: k}}]\n")
	var got []string
	for _, f := range review.Validate(dir, renderAt(t, dir), review.Options{Namespaces: []string{"team"}}) {
		got = append(got, f.String())
	}
	want := []string{
		"elsewhere.yaml:3: ExternalSecret other/far: metadata.namespace: namespace other is not one secretsync may write to (--namespaces team)",
		"elsewhere.yaml:6: ExternalSecret other/far: spec.data[0]: SecretStore/other/aws is not in the rendered manifests",
		"nostore.yaml:6: ExternalSecret team/nostore: spec.data[0]: SecretStore/team/missing is not in the rendered manifests",
		"twins.yaml:6: ExternalSecret team/one: spec.target: secret team/shared is written by 2 ExternalSecrets, and each writes it whole: team/one (twins.yaml), team/two (twins.yaml)",
		`typo.yaml:10: ExternalSecret team/typo: unknown field "spec.data[0].remoteRef.propertee"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
}

func TestManyWritersOfOneSecretAreOneFinding(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: team}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
	for i := range 9 {
		write(t, dir, fmt.Sprintf("w%d.yaml", i), fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: w%d, namespace: team}\nspec:\n  secretStoreRef: {name: aws}\n  target: {name: shared}\n  data: [{secretKey: a, remoteRef: {key: k}}]\n", i))
	}
	var first []string
	for run := range 3 {
		var got []string
		for _, f := range review.Validate(dir, renderAt(t, dir), review.Options{}) {
			got = append(got, f.String())
		}
		if len(got) != 1 || !strings.Contains(got[0], "is written by 9 ExternalSecrets") {
			t.Fatalf("findings = %q", got)
		}
		if run == 0 {
			first = got
		} else if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("run %d differs (-first +this):\n%s", run, diff)
		}
	}
}

func TestABrokenStoreIsOneFindingThatCountsItsUsers(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "vault.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: vault, namespace: team}\nspec: {provider: {vault: {server: v}}}\n")
	for i := range 4 {
		write(t, dir, fmt.Sprintf("es%d.yaml", i), fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es%d, namespace: team}\nspec:\n  secretStoreRef: {name: vault}\n  data: [{secretKey: a, remoteRef: {key: k}}, {secretKey: b, remoteRef: {key: k}}]\n", i))
	}
	var got []string
	findings := review.Validate(dir, renderAt(t, dir), review.Options{})
	for _, f := range findings {
		got = append(got, f.String())
	}
	if len(got) != 1 || !strings.Contains(got[0], `provider "vault" is not supported`) || !strings.HasSuffix(got[0], "; 4 ExternalSecrets use it") {
		t.Fatalf("findings = %q", got)
	}
	if diff := cmp.Diff([]string{"team/es0", "team/es1", "team/es2", "team/es3"}, findings[0].Stops); diff != "" {
		t.Fatalf("stops (-want +got):\n%s", diff)
	}
}

func TestAWrongTypeNamesItsLine(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "es.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: x\n  namespace: team\n  annotations:\n    replicas: 3\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: k}}]\n")
	findings := review.Validate(dir, renderAt(t, dir), review.Options{})
	if len(findings) != 1 || findings[0].Line != 7 {
		t.Fatalf("findings = %+v", findings)
	}
}

// TestAConfigMapTargetIsPlannedApartFromASecretOfItsName: a ConfigMap
// target and a Secret of the same name are two rows, the ConfigMap marked.
func TestAConfigMapTargetIsPlannedApartFromASecretOfItsName(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	es := func(name, target string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n  target: {%s}\n  data: [{secretKey: k, remoteRef: {key: r}}]\n", name, target)
	}
	write(t, head, "store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
	write(t, head, "cm.yaml", es("settings-cm", "name: settings, manifest: {apiVersion: v1, kind: ConfigMap}"))
	write(t, head, "secret.yaml", es("settings", "name: settings"))
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	if len(p.Secrets) != 2 || p.Summary.Create != 2 {
		t.Fatalf("plan has %d targets (%d created), want 2: %+v", len(p.Secrets), p.Summary.Create, p.Secrets)
	}
	kinds := map[string]string{}
	for _, s := range p.Secrets {
		kinds[s.ExternalSecret] = s.Kind
	}
	if kinds["shop/settings-cm"] != "ConfigMap" || kinds["shop/settings"] != "" {
		t.Fatalf("kinds = %v", kinds)
	}
	var table, md bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil {
		t.Fatal(err)
	}
	if err := review.WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "shop/settings (ConfigMap)") || !strings.Contains(md.String(), "**settings** (ConfigMap)") {
		t.Fatalf("the ConfigMap is not marked:\n%s\n%s", table.String(), md.String())
	}
	if !strings.Contains(md.String(), "<b>shop</b>: 1 Secret, 1 ConfigMap</summary>") {
		t.Fatalf("the namespace's summary does not count the ConfigMap apart:\n%s", md.String())
	}
}

// TestAPlanShowsMergeNullBytesAndValuesDecoding: a change to a rewrite
// merge, a find's nullBytePolicy or a templateFrom's valuesDecodingStrategy
// changes what run writes, so the plan shows each.
func TestAPlanShowsMergeNullBytesAndValuesDecoding(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	es := func(conflicts, nullBytes, decoding string) string {
		return "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n" +
			"  target: {template: {templateFrom: [{literal: 'a: b', valuesDecodingStrategy: " + decoding + "}]}}\n" +
			"  dataFrom: [{find: {path: app/, nullBytePolicy: " + nullBytes + "}, rewrite: [{merge: {conflictPolicy: " + conflicts + "}}]}]\n"
	}
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	write(t, base, "store.yaml", store)
	write(t, head, "store.yaml", store)
	write(t, base, "es.yaml", es("Error", "Ignore", "None"))
	write(t, head, "es.yaml", es("Ignore", "Fail", "Base64"))
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	if len(p.Secrets) != 1 {
		t.Fatalf("plan has %d targets, want 1: %+v", len(p.Secrets), p.Secrets)
	}
	got := map[string]string{}
	for _, k := range p.Secrets[0].Keys {
		got[k.Key] = k.After
	}
	want := map[string]string{
		"(dataFrom[0])":            "SecretStore/aws: find path app/, nullBytes Fail",
		"(dataFrom[0].rewrite[0])": `merge strategy "" into "", priority [], priorityPolicy "", conflictPolicy "Ignore"`,
		"(templateFrom[0])":        "literal a: b, values decoded Base64",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("changed keys (-want +got):\n%s", diff)
	}
}

// TestADroppedFolderIsAFindingAndNamesTheSecretsItPrunes: a folder that a
// .secretsyncignore or a Chart.yaml takes out of the render is one finding
// that names it, why, and the ESO objects in it (the ExternalSecrets it
// stops); the plan marks each Secret it deletes because of that folder.
func TestADroppedFolderIsAFindingAndNamesTheSecretsItPrunes(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	es := func(name string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: r}}]\n", name)
	}
	for _, dir := range []string{base, head} {
		write(t, dir, "store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
		write(t, dir, "keep.yaml", es("keep"))
		for _, sub := range []string{"legacy", "app"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		write(t, dir, "legacy/db.yaml", es("db"))
		write(t, dir, "app/api.yaml", es("api"))
	}
	write(t, head, ".secretsyncignore", "legacy/\n")
	write(t, head, "app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n")
	headSet := renderAt(t, head)

	findings := review.Validate(head, headSet, review.Options{})
	var got []string
	stops := map[string][]string{}
	for _, f := range findings {
		got = append(got, f.String())
		stops[f.File] = f.Stops
	}
	want := []string{
		"app: folder left out of the render (a Helm chart (app/Chart.yaml)), but it holds ESO objects that run never reads: ExternalSecret shop/api in app/api.yaml; a Secret they made is pruned",
		"legacy: folder left out of the render (excluded by .secretsyncignore), but it holds ESO objects that run never reads: ExternalSecret shop/db in legacy/db.yaml; a Secret they made is pruned",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"app": {"shop/api"}, "legacy": {"shop/db"}}, stops); diff != "" {
		t.Fatalf("stops (-want +got):\n%s", diff)
	}

	p := review.MakePlan("base", "head", renderAt(t, base), headSet)
	dropped := map[string]string{}
	for _, s := range p.Secrets {
		dropped[s.Action+" "+s.Namespace+"/"+s.Name] = s.DroppedWith
	}
	wantPlan := map[string]string{
		"delete shop/api": "folder app (a Helm chart (app/Chart.yaml))",
		"delete shop/db":  "folder legacy (excluded by .secretsyncignore)",
	}
	if diff := cmp.Diff(wantPlan, dropped); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	var table, markdown bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil {
		t.Fatal(err)
	}
	if err := review.WriteMarkdown(&markdown, p); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "markdown": markdown.String()} {
		if !strings.Contains(out, "dropped with folder legacy (excluded by .secretsyncignore)") || !strings.Contains(out, "dropped with folder app (a Helm chart (app/Chart.yaml))") {
			t.Fatalf("%s does not name the dropped folders:\n%s", name, out)
		}
	}
}

// TestValidateReportsEveryProblemOfAnObject: an ExternalSecret with many
// independent problems gets one finding for each, at once: one per template
// key, per data and dataFrom entry, and per other part of the spec, render's
// and desired's alike (a store it names that is missing, a namespace it may
// not write to), so that a pull request is not fixed one push at a time.
func TestValidateReportsEveryProblemOfAnObject(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: team}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
	write(t, dir, "many.yaml", `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: many, namespace: team}
spec:
  secretStoreRef: {name: aws}
  refreshPolicy: Sometimes
  target:
    template:
      mergePolicy: Merge
      data:
        "bad key": "x"
        "bad/two": "x"
        three: "{{ .a"
        four: "{{ nosuchfunc }}"
        "five!": "x"
        fine: "{{ .a }}"
      metadata:
        labels: {l: "{{ .b"}
  data:
    - {secretKey: "not a key", remoteRef: {key: k}}
    - {secretKey: b, remoteRef: {key: ""}}
    - {secretKey: c, remoteRef: {key: k}, sourceRef: {storeRef: {name: missing}}}
    - {secretKey: d, remoteRef: {key: k}}
  dataFrom:
    - {}
`)
	want := []struct{ field, reason string }{
		{"metadata.namespace", "namespace team is not one secretsync may write to"},
		{"spec.refreshPolicy", `must be Periodic, OnChange or CreatedOnce, not "Sometimes"`},
		{"spec.target.template.data.bad key", `"bad key" is not a valid Secret key`},
		{"spec.target.template.data.bad/two", `"bad/two" is not a valid Secret key`},
		{"spec.target.template.data.three", "three:1: unclosed action"},
		{"spec.target.template.data.four", "function nosuchfunc is not supported"},
		{"spec.target.template.data.five!", `"five!" is not a valid Secret key`},
		{"spec.target.template.metadata.labels.l", "l:1: unclosed action"},
		{"spec.data[0].secretKey", `"not a key" is not a valid Secret key`},
		{"spec.data[1].remoteRef.key", "required"},
		{"spec.data[2]", "SecretStore/team/missing is not in the rendered manifests"},
		{"spec.dataFrom[0]", "one of extract or find is required"},
	}
	findings := review.Validate(dir, renderAt(t, dir), review.Options{Namespaces: []string{"other"}})
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
		if f.Name != "many" || f.File != "many.yaml" {
			t.Errorf("a finding not of the ExternalSecret: %s", f)
		}
	}
	for _, w := range want {
		found := false
		for _, f := range findings {
			found = found || (f.Field == w.field && strings.Contains(f.Message, w.reason))
		}
		if !found {
			t.Errorf("no finding at %s saying %q", w.field, w.reason)
		}
	}
	if len(findings) != len(want) {
		t.Errorf("%d findings, want %d, one per problem", len(findings), len(want))
	}
	if t.Failed() {
		t.Logf("findings:\n%s", strings.Join(got, "\n"))
	}
}
