package render_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secretsync/secretsync/render"
)

// TestAPluginConfigLoadsNothingByURL: a generators, transformers or
// validators entry that is a local file or inline YAML holds a builtin
// plugin's configuration, whose own path, paths, files, envs and env
// fields kustomize loads over HTTP for a URL. Each is refused before
// kustomize runs, naming the file and the field, and no request reaches
// the server.
func TestAPluginConfigLoadsNothingByURL(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("- op: add\n  path: /metadata/labels/x\n  value: y\n"))
	}))
	defer srv.Close()
	url := srv.URL + "/p.yaml"
	patch := "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "\ntarget: {kind: ExternalSecret}\n"
	for name, files := range map[string]map[string]string{
		"a transformer file's path": {
			"kustomization.yaml": "resources: [es.yaml]\ntransformers: [t.yaml]\n", "t.yaml": patch,
		},
		"an inline transformer's path": {
			"kustomization.yaml": "resources: [es.yaml]\ntransformers:\n  - |\n" + indent(patch, "    "),
		},
		"a strategic merge transformer's paths": {
			"kustomization.yaml": "resources: [es.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             "apiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata: {name: p}\npaths: [" + url + "]\n",
		},
		"a replacement transformer's path": {
			"kustomization.yaml": "resources: [es.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             "apiVersion: builtin\nkind: ReplacementTransformer\nmetadata: {name: p}\nreplacements: [{path: " + url + "}]\n",
		},
		"a generator file's files": {
			"kustomization.yaml": "resources: [es.yaml]\ngenerators: [g.yaml]\n",
			"g.yaml":             "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\nfiles: [k=" + url + "]\n",
		},
		"a component's transformer file": {
			"kustomization.yaml":   "resources: [es.yaml]\ncomponents: [c]\n",
			"c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ntransformers: [t.yaml]\n", "c/t.yaml": patch,
		},
	} {
		t.Run(name, func(t *testing.T) {
			files["es.yaml"] = store + "---\n" + es("x", "k")
			_, err := render.Render(context.Background(), tree(t, files), ".", render.Options{})
			if err == nil || !strings.Contains(err.Error(), "is remote") || !strings.Contains(err.Error(), ".yaml") {
				t.Errorf("want a refusal naming the file, got %v", err)
			}
			if n := hits.Swap(0); n != 0 {
				t.Errorf("the render fetched %d URLs", n)
			}
		})
	}
	// A local patch through the same transformer still builds.
	set, err := render.Render(context.Background(), tree(t, map[string]string{
		"kustomization.yaml": "resources: [es.yaml]\ntransformers: [t.yaml]\n",
		"t.yaml":             strings.Replace(patch, url, "p.yaml", 1),
		"p.yaml":             "- op: add\n  path: /metadata/labels\n  value: {x: z}\n",
		"es.yaml":            store + "---\n" + es("x", "k"),
	}), ".", render.Options{})
	if err != nil || len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Labels["x"] != "z" {
		t.Fatalf("a local patch transformer: %v, %+v", err, set)
	}
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pre) + "\n"
}
