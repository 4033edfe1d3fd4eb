// Package render turns a path in a Git checkout into typed External Secrets
// Operator objects: kustomize build (or plain YAML files), decoding and
// validation. It never calls a provider or the cluster.
package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Limits on what a repo may make us read: the repo is untrusted input.
const (
	maxFileBytes  = 8 << 20
	maxTotalBytes = 256 << 20
)

// Options tune rendering.
type Options struct {
	// DefaultNamespace is given to namespaced objects that name none, as
	// kubectl apply and Flux do. Empty means "default".
	DefaultNamespace string
	// Cache, when set, reuses kustomize builds whose inputs are unchanged.
	Cache *Cache
}

// Set is everything rendered from one revision.
type Set struct {
	ExternalSecrets []*ExternalSecret
	Stores          []*SecretStore // SecretStores and ClusterSecretStores
	Skipped         []Skipped
	// Errors are per-object problems. Each blocks only its object, but the
	// pass that sees any of them prunes nothing.
	Errors []*ObjectError
}

// Skipped is an object secretsync does not act on.
type Skipped struct {
	Source, APIVersion, Kind, Namespace, Name, Reason string
}

// ObjectError names the file, object and field a problem is in.
type ObjectError struct {
	Source    string
	Kind      string
	Namespace string
	Name      string
	Field     string
	Err       error
}

func (e *ObjectError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Kind != "" {
		fmt.Fprintf(&b, ": %s %s", e.Kind, e.ID())
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ObjectError) Unwrap() error { return e.Err }

// ID is namespace/name, or name for cluster-scoped objects.
func (e *ObjectError) ID() string {
	if e.Namespace == "" {
		return e.Name
	}
	return e.Namespace + "/" + e.Name
}

// Render builds dir/subpath. A folder with a kustomization file is built by
// kustomize; any other folder means every *.yaml and *.yml below it. The
// returned error means nothing could be rendered; per-object problems are in
// Set.Errors.
func Render(ctx context.Context, dir, subpath string, opt Options) (*Set, error) {
	if opt.DefaultNamespace == "" {
		opt.DefaultNamespace = "default"
	}
	rel, err := confine(subpath)
	if err != nil {
		return nil, err
	}
	mem, err := loadTree(dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root := "/" + rel
	if !mem.Exists(root) {
		return nil, fmt.Errorf("path %q does not exist in the repo", subpath)
	}
	var docs []doc
	if k := kustomizationIn(mem, root); k != "" {
		docs, err = build(mem, root, k, opt.Cache)
	} else {
		docs, err = readYAMLFiles(mem, root, opt.Cache)
	}
	if err != nil {
		return nil, err
	}
	set := &Set{}
	for _, d := range docs {
		opt.Cache.decode(set, d, opt)
	}
	opt.Cache.sweep()
	sortSet(set)
	return set, nil
}

// confine cleans a repo-relative path and refuses one that leaves the repo.
func confine(p string) (string, error) {
	p = filepath.ToSlash(p)
	if path.IsAbs(p) {
		return "", fmt.Errorf("path %q must be relative to the repo root", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the repo", p)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// loadTree copies the checkout into memory, so kustomize cannot read a file
// outside the repo whatever the manifests say. Symlinks are followed only
// when they stay inside the repo; .git is left out.
func loadTree(dir string) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	realRoot, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open checkout: %w", err)
	}
	var total int64
	err = filepath.WalkDir(realRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(realRoot, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return mem.MkdirAll("/" + filepath.ToSlash(rel))
		}
		target := p
		if d.Type()&fs.ModeSymlink != 0 {
			t, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil // dangling link: as if absent
			}
			if r, err := filepath.Rel(realRoot, t); err != nil || strings.HasPrefix(r, "..") {
				return nil // leads outside the repo: never read
			}
			if st, err := os.Stat(t); err != nil || !st.Mode().IsRegular() {
				return nil
			}
			target = t
		} else if !d.Type().IsRegular() {
			return nil
		}
		st, err := os.Stat(target)
		if err != nil {
			return err
		}
		if st.Size() > maxFileBytes {
			return nil // too large to be a manifest; kustomize reports it missing if used
		}
		if total += st.Size(); total > maxTotalBytes {
			return fmt.Errorf("repo is larger than %d MiB of files", maxTotalBytes>>20)
		}
		b, err := os.ReadFile(target)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(rel), b)
	})
	if err != nil {
		return nil, fmt.Errorf("read checkout: %w", err)
	}
	return mem, nil
}

func kustomizationIn(fsys filesys.FileSystem, dir string) string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if p := path.Join(dir, n); fsys.Exists(p) && !fsys.IsDir(p) {
			return p
		}
	}
	return ""
}

// doc is one YAML document as JSON, with the repo-relative file it came
// from, or the error that kept it from parsing.
type doc struct {
	source string
	json   []byte
	err    error
	id     string // apiVersion/kind/namespace/name, when known
}

func readYAMLFiles(fsys filesys.FileSystem, root string, cache *Cache) ([]doc, error) {
	var files []string
	err := fsys.Walk(root, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var docs []doc
	for _, f := range files {
		b, err := fsys.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if cached, ok := cache.file(f, b); ok {
			docs = append(docs, cached...)
			continue
		}
		first := len(docs)
		src := strings.TrimPrefix(f, "/")
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for i := 0; ; i++ {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				docs = append(docs, doc{source: src, err: fmt.Errorf("document %d: %w", i+1, err)})
				break
			}
			j, err := yaml.YAMLToJSON(raw)
			if err != nil {
				docs = append(docs, doc{source: src, err: fmt.Errorf("document %d: %w", i+1, err)})
				continue
			}
			if string(j) == "null" {
				continue // a document of only comments
			}
			docs = append(docs, doc{source: src, json: j})
		}
		cache.keepFile(f, b, docs[first:])
	}
	return docs, nil
}

func sortSet(s *Set) {
	sort.Slice(s.ExternalSecrets, func(i, j int) bool {
		a, b := s.ExternalSecrets[i], s.ExternalSecrets[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	sort.Slice(s.Stores, func(i, j int) bool {
		a, b := s.Stores[i], s.Stores[j]
		return a.Kind+"/"+a.Namespace+"/"+a.Name < b.Kind+"/"+b.Namespace+"/"+b.Name
	})
}
