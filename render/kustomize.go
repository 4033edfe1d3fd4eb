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
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	rm, err := krusty.MakeKustomizer(opts).Run(localOnly{mem}, dir)
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

// localOnly refuses, as each kustomization file is read, any reference that
// would make kustomize reach the network: remote bases, and http(s) files.
type localOnly struct{ filesys.FileSystem }

func (l localOnly) ReadFile(p string) ([]byte, error) {
	b, err := l.FileSystem.ReadFile(p)
	if err != nil || !isKustomizationFile(p) {
		return b, err
	}
	if err := checkLocal(l.FileSystem, p, b); err != nil {
		return nil, err
	}
	return b, nil
}

func isKustomizationFile(p string) bool {
	switch path.Base(p) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// checkLocal refuses kustomization entries that point off the repo. A
// resources/bases/components entry must be a file or folder in the repo;
// any file-loading field must not be a URL.
func checkLocal(fsys filesys.FileSystem, kustFile string, b []byte) error {
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil // kustomize reports the syntax error itself
	}
	dir := path.Dir(kustFile)
	name := strings.TrimPrefix(kustFile, "/")
	for _, field := range []string{"resources", "bases", "components"} {
		for _, e := range stringList(k[field]) {
			if isURL(e) || !fsys.Exists(path.Join(dir, e)) {
				return fmt.Errorf("%s: %s entry %q is not a file or folder in the repo; remote bases are refused", name, field, e)
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
