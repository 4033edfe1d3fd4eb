package render

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const originAnnotation = "config.kubernetes.io/origin"

// build runs kustomize on dir of the in-memory repo: plugins off, loads
// restricted to the kustomization root, and nothing fetched from the
// network. Origin annotations are switched on so each object keeps its file.
func build(mem filesys.FileSystem, dir, kustFile string) ([]doc, error) {
	if err := enableOrigins(mem, kustFile); err != nil {
		return nil, err
	}
	if err := checkLocal(mem, dir, map[string]bool{}); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	rm, err := krusty.MakeKustomizer(opts).Run(mem, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", strings.TrimPrefix(dir, "/"), err)
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
		docs = append(docs, doc{source: src, json: j, err: err})
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
// runs, and refuses entries that would reach the network: a
// resources/bases/components entry must be a file or folder in the repo,
// and no file-loading field may be a URL.
func checkLocal(fsys filesys.FileSystem, dir string, seen map[string]bool) error {
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
	for _, field := range []string{"resources", "bases", "components"} {
		for _, e := range stringList(k[field]) {
			p := path.Join(dir, e)
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
	if _, ok := k["helmCharts"]; ok {
		return fmt.Errorf("%s: helmCharts are refused; commit the rendered manifests instead", name)
	}
	var loaded []string
	for _, field := range []string{"crds", "configurations", "generators", "transformers", "validators", "patchesStrategicMerge"} {
		loaded = append(loaded, stringList(k[field])...)
	}
	for _, field := range []string{"patches", "patchesJson6902", "replacements"} {
		for _, m := range maps(k[field]) {
			loaded = append(loaded, stringList(m["path"])...)
		}
	}
	for _, field := range []string{"configMapGenerator", "secretGenerator"} {
		for _, m := range maps(k[field]) {
			loaded = append(loaded, stringList(m["files"])...)
			loaded = append(loaded, stringList(m["envs"])...)
			loaded = append(loaded, stringList(m["env"])...)
		}
	}
	if o, ok := k["openapi"].(map[string]any); ok {
		loaded = append(loaded, stringList(o["path"])...)
	}
	for _, e := range loaded {
		if !strings.Contains(e, "\n") && isURL(e) {
			return fmt.Errorf("%s: %q is remote; secretsync reads only files in the repo", name, e)
		}
	}
	return nil
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

func maps(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
