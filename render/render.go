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
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// ErrPathMissing is the error of a render whose path is not in the repo: a
// review of a change that adds or deletes the folder renders it as empty.
var ErrPathMissing = errors.New("path does not exist in the repo")

// Options tune rendering.
type Options struct {
	// DefaultNamespace is given to namespaced objects that name none, as
	// kubectl apply and Flux do. Empty means "default".
	DefaultNamespace string
	// Cache, when set, reuses kustomize builds whose inputs are unchanged.
	Cache *Cache
	// NamespacedOnly refuses the cluster-scoped kinds (ClusterSecretStore,
	// ClusterExternalSecret), each an error naming it, for an instance
	// whose repo path belongs to one team: either kind reaches every
	// namespace secretsync may write to.
	NamespacedOnly bool
}

// Set is everything rendered from one revision.
type Set struct {
	ExternalSecrets []*ExternalSecret
	// ClusterExternalSecrets are not expanded by Render: the namespaces
	// they choose are the cluster's (desired.Expand).
	ClusterExternalSecrets []*ClusterExternalSecret
	Stores                 []*SecretStore // SecretStores and ClusterSecretStores
	Generators             []*Generator
	// PushSecrets write a Secret of their own namespace to AWS.
	PushSecrets []*PushSecret
	Skipped     []Skipped
	// Dropped are the folders and files a folder render leaves out (Helm
	// charts, .secretsyncignore) that hold ESO objects.
	Dropped []Dropped
	// Errors are per-object problems. Each blocks only its object, but the
	// pass that sees any of them prunes nothing.
	Errors []*ObjectError
	// Refused are the ExternalSecrets that decoded but failed validation
	// (their problems are in Errors): run never builds them; validate asks
	// desired for their other problems, to report them all at once.
	Refused []*ExternalSecret
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

// building is held by the one build that runs at a time in this process:
// a build cannot be stopped, so one abandoned on timeout must not run
// beside the next (nor share its cache).
var building = make(chan struct{}, 1)

// buildStarted is called as a build starts; tests hold a build there.
var buildStarted = func() {}

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
	opt.Cache.begin(opt)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	repo, err := newRepoFS(dir)
	if err != nil {
		return nil, err
	}
	root := "/" + rel
	if !repo.Exists(root) {
		return nil, fmt.Errorf("path %q: %w", subpath, ErrPathMissing)
	}
	// kustomize does not watch ctx: the build runs aside, so that a pass
	// cut off (SIGTERM, its deadline) returns at once. The build it leaves
	// still holds building until it ends: the next one waits for it.
	select {
	case building <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the build an earlier pass left running: %w", ctx.Err())
	}
	type built struct {
		docs    []doc
		skipped []Skipped
		dropped []Dropped
		err     error
	}
	done := make(chan built, 1)
	go func() {
		var b built
		buildStarted()
		if k := kustomizationIn(repo, root); k != "" {
			b.docs, b.err = build(repo, root, k, opt.Cache)
		} else {
			b.docs, b.skipped, b.dropped, b.err = readYAMLFiles(repo, root, opt.Cache)
		}
		<-building
		done <- b
	}()
	var b built
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case b = <-done:
	}
	if b.err != nil {
		return nil, b.err
	}
	if len(b.docs) > maxObjects {
		return nil, fmt.Errorf("path %q renders %d objects, over the limit of %d", subpath, len(b.docs), maxObjects)
	}
	set := &Set{Skipped: b.skipped, Dropped: b.dropped}
	defaultNamespaces(set.Dropped, opt.DefaultNamespace)
	for _, d := range b.docs {
		opt.Cache.decode(set, d, opt)
	}
	if opt.Cache != nil && opt.Cache.missed {
		opt.Cache.reset() // the next run reads every file afresh: no miss
		return Render(ctx, dir, subpath, opt)
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
	key    docKey // the decode's cache key, in place of json, in a Cache
}

// ignoreFile lists, in gitignore syntax, paths a folder render leaves out;
// it applies to its folder and below, as a .gitignore does.
const ignoreFile = ".secretsyncignore"

// readYAMLFiles reads every YAML file below root, except what an
// ignoreFile excludes and Helm charts (a folder with a Chart.yaml holds
// templates, not manifests), which are noted in skipped; those of them that
// hold ESO objects are listed in dropped.
func readYAMLFiles(fsys filesys.FileSystem, root string, cache *Cache) (docs []doc, skipped []Skipped, dropped []Dropped, err error) {
	files, skipped, dropped, err := listYAMLFiles(fsys, root)
	if err != nil {
		return nil, nil, nil, err
	}
	return splitYAMLFiles(fsys, files, cache), skipped, dropped, nil
}

// listYAMLFiles walks root for the YAML files a folder render reads, sorted,
// honouring ignoreFile and skipping Helm charts and symlinked folders that
// lead outside root (each named in skipped or dropped).
func listYAMLFiles(fsys filesys.FileSystem, root string) (files []string, skipped []Skipped, dropped []Dropped, err error) {
	var patterns []gitignore.Pattern
	segments := func(p string) []string {
		rel := strings.Trim(strings.TrimPrefix(p, root), "/")
		if rel == "" {
			return nil
		}
		return strings.Split(rel, "/")
	}
	err = fsys.Walk(root, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if len(patterns) > 0 && gitignore.NewMatcher(patterns).Match(segments(p), info.IsDir()) {
			if info.IsDir() || isYAMLName(p) {
				dropped = dropPath(fsys, dropped, p, "excluded by "+ignoreFile, info.IsDir())
			}
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !info.IsDir() {
			if isYAMLName(p) {
				files = append(files, p)
			} else if to, ok := symlinkedFolder(fsys, p); ok && !within(to, root) {
				// Not entered: what it leads to outside this folder is not
				// rendered, and is named like an ignored folder.
				if objs := droppedObjects(fsys, to, true); len(objs) > 0 {
					dropped = append(dropped, Dropped{Path: repoPath(p), Folder: true, Objects: objs,
						Reason: "a symlinked folder (to " + repoPath(to) + "), which a folder render does not enter"})
				}
			}
			return nil
		}
		if chart := path.Join(p, "Chart.yaml"); fsys.Exists(chart) && !fsys.IsDir(chart) {
			skipped = append(skipped, Skipped{Source: repoPath(p), Kind: "HelmChart",
				Reason: "a Helm chart: its templates are not manifests until Helm renders them; commit the rendered output to have it read"})
			dropped = dropPath(fsys, dropped, p, "a Helm chart ("+repoPath(chart)+")", true)
			return filepath.SkipDir
		}
		if b, err := fsys.ReadFile(path.Join(p, ignoreFile)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if line = strings.TrimRight(line, "\r"); line != "" && !strings.HasPrefix(line, "#") {
					patterns = append(patterns, gitignore.ParsePattern(line, segments(p)))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	sort.Strings(files)
	return files, skipped, dropped, nil
}

// splitYAMLFiles reads each file and splits it into documents as JSON; a
// file or document that cannot be read is a doc with its error.
func splitYAMLFiles(fsys filesys.FileSystem, files []string, cache *Cache) []doc {
	var docs []doc
	for _, f := range files {
		src := strings.TrimPrefix(f, "/")
		b, err := fsys.ReadFile(f)
		if err != nil {
			// A file that is not read is an error of its own, never a
			// silent drop: its Secrets would be pruned.
			docs = append(docs, doc{source: src, err: fmt.Errorf("file not read: %w", err)})
			continue
		}
		if cached, ok := cache.file(f, b); ok {
			docs = append(docs, cached...)
			continue
		}
		first := len(docs)
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
	return docs
}

// symlinkedFolder returns the repo path a symlink at p leads to when that
// is a folder inside the repo.
func symlinkedFolder(fsys filesys.FileSystem, p string) (string, bool) {
	r, ok := fsys.(*repoFS)
	if !ok || !fsys.IsDir(p) {
		return "", false
	}
	rp, err := r.real(p)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(r.root, rp)
	if err != nil {
		return "", false
	}
	return clean(filepath.ToSlash(rel)), true
}

// within reports whether repo path p is dir or below it.
func within(p, dir string) bool {
	p, dir = clean(p), clean(dir)
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// isYAMLName reports whether a file name ends in .yaml or .yml, in any case.
func isYAMLName(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

func sortSet(s *Set) {
	sort.Slice(s.ExternalSecrets, func(i, j int) bool {
		a, b := s.ExternalSecrets[i], s.ExternalSecrets[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	sort.Slice(s.ClusterExternalSecrets, func(i, j int) bool { return s.ClusterExternalSecrets[i].Name < s.ClusterExternalSecrets[j].Name })
	sort.Slice(s.PushSecrets, func(i, j int) bool { return s.PushSecrets[i].ID() < s.PushSecrets[j].ID() })
	sort.Slice(s.Generators, func(i, j int) bool {
		a, b := s.Generators[i], s.Generators[j]
		return a.Namespace+"/"+a.Kind+"/"+a.Name < b.Namespace+"/"+b.Kind+"/"+b.Name
	})
	sort.Slice(s.Stores, func(i, j int) bool {
		a, b := s.Stores[i], s.Stores[j]
		return a.Kind+"/"+a.Namespace+"/"+a.Name < b.Kind+"/"+b.Namespace+"/"+b.Name
	})
}
