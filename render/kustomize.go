package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/internal/parallel"
)

const originAnnotation = "config.kubernetes.io/origin"

// build runs kustomize on dir of the in-memory repo: plugins off, loads
// restricted to the kustomization root, and nothing fetched from the
// network. Origin annotations are switched on so each object keeps its file.
//
// kustomize's cost grows with the square of the resources in one build, so
// a kustomization that only aggregates folders is not built whole: each
// folder is built on its own, in parallel, and the outputs concatenated in
// order, which is what the whole build would produce. Each build is cached
// by the content of every file it read.
func build(mem *repoFS, dir, kustFile string, cache *Cache) ([]doc, error) {
	leaves, err := plan(mem, dir, kustFile)
	if err != nil {
		return nil, err
	}
	results := make([][]doc, len(leaves))
	errs := make([]error, len(leaves))
	jobs := make([]func(), len(leaves))
	for i, leaf := range leaves {
		jobs[i] = func() {
			if errs[i] = prepareLeaf(mem, leaf); errs[i] == nil {
				results[i], errs[i] = cache.build(mem, leaf)
			}
		}
	}
	parallel.Run(runtime.GOMAXPROCS(0), jobs)
	var out []doc
	seen := map[string]string{}
	for i, leaf := range leaves {
		if errs[i] != nil && len(leaves) == 1 {
			return nil, errs[i]
		}
		if errs[i] != nil {
			// One folder's failure is its own: the other folders' objects
			// are still applied, and the error blocks prune.
			out = append(out, doc{source: repoPath(leaf), err: errs[i]})
			continue
		}
		for _, d := range results[i] {
			if id := d.id; id != "" {
				if other, dup := seen[id]; dup {
					return nil, fmt.Errorf("kustomize build %s: %s is in both %s and %s", repoPath(dir), id, other, d.source)
				}
				seen[id] = d.source
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// plan lists the folders to build on their own: dir itself, or, when its
// kustomization only lists folders (no transformer, generator, namespace
// or label of its own), the plans of those folders.
func plan(mem *repoFS, dir, kustFile string) ([]string, error) {
	if children := aggregates(mem, dir, kustFile); children != nil {
		var out []string
		for _, c := range children {
			sub, err := plan(mem, c, kustomizationIn(mem, c))
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
		return out, nil
	}
	return []string{dir}, nil
}

// prepareLeaf switches origin annotations on for a folder to build and
// refuses remote references in what it reaches.
func prepareLeaf(mem *repoFS, dir string) error {
	if err := enableOrigins(mem, kustomizationIn(mem, dir)); err != nil {
		return err
	}
	return checkLocal(mem, dir, map[string]bool{})
}

// aggregates returns the folders a kustomization only aggregates, or nil
// when it does anything else.
func aggregates(mem filesys.FileSystem, dir, kustFile string) []string {
	b, err := mem.ReadFile(kustFile)
	if err != nil {
		return nil
	}
	var k map[string]any
	if yaml.Unmarshal(b, &k) != nil {
		return nil
	}
	for key := range k {
		switch key {
		case "apiVersion", "kind", "resources":
		default:
			return nil
		}
	}
	res := stringList(k["resources"])
	if len(res) == 0 {
		return nil
	}
	var out []string
	for _, r := range res {
		p := path.Join(dir, r)
		if isURL(r) || !mem.IsDir(p) || kustomizationIn(mem, p) == "" {
			return nil
		}
		out = append(out, p)
	}
	return out
}

// resID is apiVersion/kind/namespace/name of a rendered object.
func resID(j []byte) string {
	var h header
	if json.Unmarshal(j, &h) != nil || h.Kind == "" {
		return ""
	}
	return h.APIVersion + "/" + h.Kind + "/" + h.Metadata.Namespace + "/" + h.Metadata.Name
}

// buildOne builds one folder: directly when it is a plain list of ESO
// objects, else with kustomize.
func buildOne(fsys filesys.FileSystem, dir string) ([]doc, error) {
	if docs, ok := direct(fsys, dir); ok {
		return docs, nil
	}
	return kustomizeBuild(fsys, dir)
}

// kustomizeBuild runs kustomize on one folder.
func kustomizeBuild(fsys filesys.FileSystem, dir string) ([]doc, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	// kustomize keeps the OpenAPI schema in a global, set on every run: a
	// build with an openapi field of its own runs alone.
	if b, err := fsys.ReadFile(kustomizationIn(fsys, dir)); err == nil && strings.Contains(string(b), "openapi") {
		kustomizeMu.Lock()
		defer kustomizeMu.Unlock()
	} else {
		kustomizeMu.RLock()
		defer kustomizeMu.RUnlock()
	}
	rm, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", repoPath(dir), err)
	}
	docs := make([]doc, 0, rm.Size())
	for _, res := range rm.Resources() {
		src := strings.TrimPrefix(dir, "/")
		if o, err := res.GetOrigin(); err == nil && o != nil {
			switch {
			case o.Path != "":
				src = path.Join(src, o.Path)
			case o.ConfiguredIn != "":
				src = path.Join(src, o.ConfiguredIn)
			}
		}
		annos := res.GetAnnotations()
		delete(annos, originAnnotation)
		if err := res.SetAnnotations(annos); err != nil {
			return nil, err
		}
		j, err := res.MarshalJSON()
		docs = append(docs, doc{source: src, json: j, err: err, id: resID(j)})
	}
	return docs, nil
}

// enableOrigins adds buildMetadata: [originAnnotations] to the top
// kustomization; kustomize passes it down to every base.
func enableOrigins(mem filesys.FileSystem, kustFile string) error {
	b, err := mem.ReadFile(kustFile)
	if err != nil {
		return err
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimPrefix(kustFile, "/"), err)
	}
	if k == nil {
		k = map[string]any{}
	}
	meta, _ := k["buildMetadata"].([]any)
	for _, m := range meta {
		if m == types.OriginAnnotations {
			return nil
		}
	}
	k["buildMetadata"] = append(meta, types.OriginAnnotations)
	out, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	return mem.WriteFile(kustFile, out)
}

// checkLocal walks the kustomizations reachable from dir, before kustomize
// runs, and refuses entries that would reach the network or run a
// program: a resources/bases/components/generators/transformers/validators
// entry must be a file or folder in the repo (or, for the last three,
// inline YAML), no file-loading field may be a URL, and helm is refused.
func checkLocal(fsys *repoFS, dir string, seen map[string]bool) error {
	kustFile := kustomizationIn(fsys, dir)
	if kustFile == "" || seen[kustFile] {
		return nil
	}
	seen[kustFile] = true
	b, err := fsys.ReadFile(kustFile)
	if err != nil {
		return err
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil // kustomize reports the syntax error itself
	}
	name := strings.TrimPrefix(kustFile, "/")
	if err := checkResources(fsys, dir, name, k, seen); err != nil {
		return err
	}
	for _, field := range []string{"helmCharts", "helmGlobals", "helmChartInflationGenerator"} {
		if _, ok := k[field]; ok {
			return fmt.Errorf("%s: %s is refused (it runs helm); commit the rendered manifests instead", name, field)
		}
	}
	if err := checkPlugins(fsys, dir, name, k, seen); err != nil {
		return err
	}
	return checkLoadedFiles(name, k)
}

// checkResources: each resources, bases and components entry of the
// kustomization name (in dir) is a file or folder in the repo; folders are
// checked in turn.
func checkResources(fsys *repoFS, dir, name string, k map[string]any, seen map[string]bool) error {
	for _, field := range []string{"resources", "bases", "components"} {
		for _, e := range stringList(k[field]) {
			p := path.Join(dir, e)
			if fsys.outside(p) {
				return fmt.Errorf("%s: %s entry %q is a symlink that points outside the repo; it is never read", name, field, e)
			}
			if isURL(e) || !fsys.Exists(p) {
				return fmt.Errorf("%s: %s entry %q is not a file or folder in the repo; remote bases are refused", name, field, e)
			}
			if fsys.IsDir(p) {
				if err := checkLocal(fsys, p, seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkPlugins: kustomize loads a generators, transformers or validators
// entry that is not inline YAML as a file, else as a folder, else from a
// remote repo (running git): each must be a file or folder in the repo.
func checkPlugins(fsys *repoFS, dir, name string, k map[string]any, seen map[string]bool) error {
	for _, field := range []string{"generators", "transformers", "validators"} {
		for _, e := range stringList(k[field]) {
			if inlineYAML(e) {
				if err := checkPluginConfig(name+": "+field+" (inline)", e); err != nil {
					return err
				}
				continue
			}
			p := path.Join(dir, e)
			if isURL(e) || fsys.outside(p) || !fsys.Exists(p) {
				return fmt.Errorf("%s: %s entry %q is not a file or folder in the repo; remote %s are refused", name, field, e, field)
			}
			if fsys.IsDir(p) {
				if err := checkLocal(fsys, p, seen); err != nil {
					return err
				}
				continue
			}
			body, err := fsys.ReadFile(p)
			if err != nil {
				return err
			}
			if err := checkPluginConfig(repoPath(p), string(body)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLoadedFiles: the other fields load files only, over HTTP for a URL;
// none may be a URL.
func checkLoadedFiles(name string, k map[string]any) error {
	loaded := loadedFiles(k)
	for _, field := range slices.Sorted(maps.Keys(loaded)) {
		for _, e := range loaded[field] {
			if !strings.Contains(e, "\n") && isURL(e) {
				return fmt.Errorf("%s: %s entry %q is remote; secretsync reads only files in the repo", name, field, e)
			}
		}
	}
	return nil
}

// loadedFiles is every file a kustomization loads outside resources and
// plugins, by the field path that names it.
func loadedFiles(k map[string]any) map[string][]string {
	loaded := map[string][]string{}
	for _, field := range []string{"crds", "configurations", "patchesStrategicMerge"} {
		loaded[field] = stringList(k[field])
	}
	for _, field := range []string{"patches", "patchesJson6902", "replacements"} {
		for _, m := range objectList(k[field]) {
			loaded[field+"[].path"] = append(loaded[field+"[].path"], stringList(m["path"])...)
		}
	}
	for _, field := range []string{"configMapGenerator", "secretGenerator"} {
		for _, m := range objectList(k[field]) {
			for _, sub := range []string{"files", "envs", "env"} {
				for _, f := range stringList(m[sub]) {
					if _, file, ok := strings.Cut(f, "="); ok && sub == "files" {
						f = file
					}
					loaded[field+"[]."+sub] = append(loaded[field+"[]."+sub], f)
				}
			}
		}
	}
	if o, ok := k["openapi"].(map[string]any); ok {
		loaded["openapi.path"] = stringList(o["path"])
	}
	return loaded
}

// pluginLoads are the fields of builtin plugin configurations
// (PatchTransformer, PatchStrategicMergeTransformer, ReplacementTransformer,
// ConfigMapGenerator, ...) that kustomize loads as files, over HTTP for a
// URL.
var pluginLoads = map[string]bool{"path": true, "paths": true, "files": true, "envs": true, "env": true}

// checkPluginConfig refuses a plugin configuration (each YAML document of
// a generators, transformers or validators file or inline entry) that
// would load a URL, at any depth.
func checkPluginConfig(name, body string) error {
	var walk func(v any) error
	walk = func(v any) error {
		switch t := v.(type) {
		case map[string]any:
			for _, key := range slices.Sorted(maps.Keys(t)) {
				if pluginLoads[key] {
					for _, e := range stringList(t[key]) {
						if _, file, ok := strings.Cut(e, "="); ok && key == "files" {
							e = file
						}
						if isURL(e) {
							return fmt.Errorf("%s: %s entry %q is remote; secretsync reads only files in the repo", name, key, e)
						}
					}
				}
				if err := walk(t[key]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	dec := yamlv3.NewDecoder(strings.NewReader(body))
	for {
		var v any
		switch err := dec.Decode(&v); {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			// Unchecked is refused: what kustomize would load is unknown.
			return fmt.Errorf("%s: not YAML secretsync can check for remote loads", name)
		}
		if err := walk(v); err != nil {
			return err
		}
	}
}

// inlineYAML reports a generators/transformers/validators entry that is a
// YAML object itself, which kustomize takes as inline configuration.
func inlineYAML(e string) bool {
	var m map[string]any
	return yaml.Unmarshal([]byte(e), &m) == nil && m != nil
}

// repoPath is a path of the in-memory repo as the user knows it.
func repoPath(p string) string {
	if p = strings.TrimPrefix(p, "/"); p == "" {
		return "."
	}
	return p
}

func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git::")
}

// stringList returns v as a list of strings: a string alone or the strings
// in a list.
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func objectList(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
