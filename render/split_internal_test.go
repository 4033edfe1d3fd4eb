package render

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nested writes a root that aggregates two groups, each aggregating
// overlays with their own namespace and a shared base.
func nested(t *testing.T, dir string, change string) {
	t.Helper()
	files := map[string]string{
		"kustomization.yaml":         "resources: [group-a, group-b]\n",
		"group-a/kustomization.yaml": "resources: [one, two]\n",
		"group-b/kustomization.yaml": "resources: [three]\n",
		"base/kustomization.yaml":    "resources: [store.yaml]\n",
		"base/store.yaml":            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n",
	}
	for _, o := range []string{"group-a/one", "group-a/two", "group-b/three"} {
		name := filepath.Base(o)
		files[o+"/kustomization.yaml"] = "namespace: ns-" + name + "\nresources: [../../base, es.yaml]\ncommonLabels: {team: " + name + "}\n"
		body := ""
		for i := range 3 {
			key := fmt.Sprintf("%s/k%d", name, i)
			if o == change && i == 0 {
				key += "-changed"
			}
			body += fmt.Sprintf("---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es-%d}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: v, remoteRef: {key: %s}}]\n", i, key)
		}
		files[o+"/es.yaml"] = body
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type flat struct{ Source, JSON string }

func flatten(docs []doc) []flat {
	out := make([]flat, len(docs))
	for i, d := range docs {
		out[i] = flat{d.source, string(d.json)}
	}
	return out
}

func TestSplitBuildsEqualOneWholeBuild(t *testing.T) {
	dir := t.TempDir()
	nested(t, dir, "")
	mem, err := newRepoFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	split, err := build(mem, "/", "/kustomization.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := newRepoFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := enableOrigins(whole, "/kustomization.yaml"); err != nil {
		t.Fatal(err)
	}
	one, err := buildOne(whole, "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 12 {
		t.Fatalf("the whole build has %d objects", len(one))
	}
	if diff := cmp.Diff(flatten(one), flatten(split)); diff != "" {
		t.Fatalf("split build differs from one whole build (-whole +split):\n%s", diff)
	}
}

func TestTheCacheRebuildsOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	nested(t, dir, "")
	cache := NewCache()
	render := func() *Set {
		set, err := Render(context.Background(), dir, ".", Options{Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	render()
	if cache.Built != 3 || cache.Reused != 0 {
		t.Fatalf("cold: built %d, reused %d", cache.Built, cache.Reused)
	}
	nested(t, dir, "group-a/two")
	set := render()
	if cache.Built != 4 || cache.Reused != 2 {
		t.Fatalf("after one overlay changed: built %d, reused %d", cache.Built, cache.Reused)
	}
	var found bool
	for _, es := range set.ExternalSecrets {
		found = found || strings.HasSuffix(es.Spec.Data[0].RemoteRef.Key, "-changed")
	}
	if !found {
		t.Fatal("the change is not in the render")
	}
	if err := os.WriteFile(filepath.Join(dir, "base", "store.yaml"), []byte("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: eu-west-1}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	render()
	if cache.Built != 7 {
		t.Fatalf("a change to a shared base rebuilt %d overlays in all, want every one", cache.Built-4)
	}
}

func TestADuplicateAcrossSplitBuildsIsAnError(t *testing.T) {
	dir := t.TempDir()
	nested(t, dir, "")
	// group-b now points at an overlay group-a already has.
	if err := os.WriteFile(filepath.Join(dir, "group-b", "kustomization.yaml"), []byte("resources: [../group-a/one]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Render(context.Background(), dir, ".", Options{})
	if err == nil || !strings.Contains(err.Error(), "is in both") {
		t.Fatalf("err = %v", err)
	}
}

func TestPlainYAMLIsParsedAndDecodedOnlyWhenItChanges(t *testing.T) {
	dir := t.TempDir()
	es := func(name, key string) string {
		return "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: " + name + "}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: v, remoteRef: {key: " + key + "}}]\n"
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", es("a", "k/a"))
	write("b.yaml", es("b", "k/b"))
	cache := NewCache()
	first, err := Render(context.Background(), dir, ".", Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	write("b.yaml", es("b", "k/b2"))
	second, err := Render(context.Background(), dir, ".", Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if first.ExternalSecrets[0] != second.ExternalSecrets[0] {
		t.Fatal("the unchanged file was decoded again")
	}
	if first.ExternalSecrets[1] == second.ExternalSecrets[1] || second.ExternalSecrets[1].Spec.Data[0].RemoteRef.Key != "k/b2" {
		t.Fatal("the changed file was not decoded again")
	}
	if len(cache.files) != 2 || len(cache.decoded) != 2 {
		t.Fatalf("the cache keeps %d files and %d decodes; want only the current 2", len(cache.files), len(cache.decoded))
	}
	for path, f := range cache.files {
		for _, d := range f.docs {
			if d.json != nil {
				t.Errorf("the cache keeps the JSON of %s", path)
			}
		}
	}

	// A cached file whose decodes are gone (a render cut short) is read
	// again, not dropped.
	clear(cache.decoded)
	third, err := Render(context.Background(), dir, ".", Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if len(third.ExternalSecrets) != 2 || third.ExternalSecrets[1].Spec.Data[0].RemoteRef.Key != "k/b2" {
		t.Fatalf("after the decodes were lost the render has %d ExternalSecrets", len(third.ExternalSecrets))
	}
	// Another default namespace is another decode.
	other, err := Render(context.Background(), dir, ".", Options{Cache: cache, DefaultNamespace: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if len(other.ExternalSecrets) != 2 || other.ExternalSecrets[0].Namespace != "team" {
		t.Fatalf("a render with another default namespace: %d, %v", len(other.ExternalSecrets), other.ExternalSecrets)
	}
}

// ID is made once at decode, and still follows a hand change of the name.
func TestExternalSecretID(t *testing.T) {
	set := &Set{}
	decodeInto(set, doc{source: "a.yaml", json: []byte(`{"apiVersion":"external-secrets.io/v1","kind":"ExternalSecret","metadata":{"name":"db"},"spec":{"secretStoreRef":{"name":"aws"},"data":[{"secretKey":"k","remoteRef":{"key":"r"}}]}}`)}, Options{DefaultNamespace: "team"})
	if len(set.ExternalSecrets) != 1 {
		t.Fatalf("decoded %d ExternalSecrets, errors %v", len(set.ExternalSecrets), set.Errors)
	}
	es := set.ExternalSecrets[0]
	if es.id != "team/db" || es.ID() != "team/db" {
		t.Fatalf("id %q, ID() %q", es.id, es.ID())
	}
	es.Name = "dc"
	if es.ID() != "team/dc" {
		t.Errorf("after a rename ID() = %q", es.ID())
	}
	if (&ExternalSecret{Meta: es.Meta}).ID() != "team/dc" {
		t.Error("an ExternalSecret built by hand has no ID")
	}
}

// An ExternalSecret exported from a cluster carries every ObjectMeta field:
// it decodes, keeps what secretsync uses, and a typo in metadata is still
// an error.
func TestExternalSecretMetadata(t *testing.T) {
	exported := `{"apiVersion":"external-secrets.io/v1","kind":"ExternalSecret","metadata":{"name":"db","namespace":"team","labels":{"a":"1"},"annotations":{"b":"2"},
"uid":"0b4c","resourceVersion":"12","generation":3,"creationTimestamp":"2026-01-01T00:00:00Z","managedFields":[{"manager":"kubectl"}],
"ownerReferences":[{"kind":"ClusterExternalSecret","name":"x"}],"finalizers":["f"],"generateName":"db-","selfLink":"/x","deletionTimestamp":null,"deletionGracePeriodSeconds":30},
"spec":{"secretStoreRef":{"name":"aws"},"data":[{"secretKey":"k","remoteRef":{"key":"r"}}]},
"status":{"conditions":[{"type":"Ready","status":"True"}],"refreshTime":"2026-01-01T00:00:00Z"}}`
	set := &Set{}
	decodeInto(set, doc{source: "a.yaml", json: []byte(exported)}, Options{DefaultNamespace: "default"})
	if len(set.ExternalSecrets) != 1 {
		t.Fatalf("decoded %d ExternalSecrets, errors %v", len(set.ExternalSecrets), set.Errors)
	}
	es := set.ExternalSecrets[0]
	if es.Name != "db" || es.Namespace != "team" || es.Labels["a"] != "1" || es.Annotations["b"] != "2" {
		t.Fatalf("metadata %+v", es.Meta)
	}
	out, err := json.Marshal(es.Meta)
	if err != nil || string(out) != `{"name":"db","namespace":"team","labels":{"a":"1"},"annotations":{"b":"2"}}` {
		t.Errorf("written back as %s (%v)", out, err)
	}
	typo := &Set{}
	decodeInto(typo, doc{source: "a.yaml", json: []byte(strings.Replace(exported, `"labels"`, `"lables"`, 1))}, Options{})
	if len(typo.ExternalSecrets) != 0 || len(typo.Errors) == 0 {
		t.Errorf("metadata.lables was accepted")
	}
	// status and kind are accepted and not kept; syncWindows, even null,
	// is refused by name.
	if spec, err := json.Marshal(es.Spec); err != nil || strings.Contains(string(spec), "syncWindows") {
		t.Errorf("the spec writes %s (%v)", spec, err)
	}
	windows := &Set{}
	decodeInto(windows, doc{source: "a.yaml", json: []byte(strings.Replace(exported, `"spec":{`, `"spec":{"syncWindows":null,`, 1))}, Options{})
	if len(windows.ExternalSecrets) != 0 || len(windows.Errors) != 1 || !strings.Contains(windows.Errors[0].Error(), "syncWindows") {
		t.Errorf("spec.syncWindows: null was not refused: %v", windows.Errors)
	}
}
