package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Limits on what a repo may make us read: the repo is untrusted input.
const (
	maxFileBytes  = 8 << 20
	maxTotalBytes = 256 << 20
	// maxObjects bounds the objects one render may produce.
	maxObjects = 200_000
)

// repoFS is the checkout as kustomize and the folder reader see it, rooted
// at "/". Files are read from disk only when asked for, so a file the
// render never needs (whatever its name) costs nothing. Every path is
// confined to the repo: a symlink is followed only while it stays inside,
// and .git is hidden. Each file and the render's total are bounded, and a
// YAML file whose aliases would expand past a sane size is refused before
// any parser expands it. Writes (the origin annotations enableOrigins adds
// to a kustomization) go to an in-memory overlay; the checkout is never
// changed.
type repoFS struct {
	root    string // real path, symlinks resolved
	read    atomic.Int64
	mu      sync.Mutex
	overlay map[string][]byte
}

var errReadOnly = errors.New("the repo is read-only during a render")

// errOutside is a path whose symlinks lead out of the repo.
type errOutside struct{ path string }

func (e *errOutside) Error() string {
	return fmt.Sprintf("%s is a symlink that points outside the repo; it is never read", strings.TrimPrefix(e.path, "/"))
}

func newRepoFS(dir string) (*repoFS, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open checkout: %w", err)
	}
	return &repoFS{root: root, overlay: map[string][]byte{}}, nil
}

func clean(p string) string { return path.Clean("/" + filepath.ToSlash(p)) }

// real maps a repo path to its real path on disk, or fails when it is
// absent, inside .git, or leads outside the repo.
func (r *repoFS) real(p string) (string, error) {
	p = clean(p)
	for _, seg := range strings.Split(p, "/") {
		if seg == ".git" {
			return "", &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(r.root, filepath.FromSlash(p)))
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(r.root, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", &errOutside{path: p}
	}
	return resolved, nil
}

// outside reports whether p is a symlink that leads out of the repo.
func (r *repoFS) outside(p string) bool {
	_, err := r.real(p)
	var o *errOutside
	return errors.As(err, &o)
}

func (r *repoFS) stat(p string) (fs.FileInfo, error) {
	rp, err := r.real(p)
	if err != nil {
		return nil, err
	}
	return os.Stat(rp)
}

func (r *repoFS) overlaid(p string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.overlay[clean(p)]
	return b, ok
}

func (r *repoFS) Exists(p string) bool {
	if _, ok := r.overlaid(p); ok {
		return true
	}
	_, err := r.stat(p)
	return err == nil
}

func (r *repoFS) IsDir(p string) bool {
	if _, ok := r.overlaid(p); ok {
		return false
	}
	st, err := r.stat(p)
	return err == nil && st.IsDir()
}

// ReadFile reads one file within the limits, and refuses an alias bomb.
func (r *repoFS) ReadFile(p string) ([]byte, error) {
	if b, ok := r.overlaid(p); ok {
		return append([]byte(nil), b...), nil
	}
	name := strings.TrimPrefix(clean(p), "/")
	rp, err := r.real(p) // resolved and confined once; the open and the stat use it
	if err != nil {
		return nil, err
	}
	f, err := os.Open(rp)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > maxFileBytes {
		return nil, fmt.Errorf("%s is %.1f MiB, over the %d MiB limit on one file; it is not read", name, float64(st.Size())/(1<<20), maxFileBytes>>20)
	}
	if r.read.Add(st.Size()) > maxTotalBytes {
		return nil, fmt.Errorf("reading %s: the render would read more than %d MiB of files", name, maxTotalBytes>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s grew over the %d MiB limit on one file while read", name, maxFileBytes>>20)
	}
	if err := checkAliases(b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func (r *repoFS) WriteFile(p string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.overlay[clean(p)] = append([]byte(nil), data...)
	return nil
}

func (r *repoFS) Open(p string) (filesys.File, error) {
	b, err := r.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), name: path.Base(clean(p)), size: int64(len(b))}, nil
}

func (r *repoFS) ReadDir(p string) ([]string, error) {
	rp, err := r.real(p)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(rp)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Name() != ".git" {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (r *repoFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	p = clean(p)
	if !r.Exists(p) {
		return "", "", fmt.Errorf("%s does not exist in the repo", strings.TrimPrefix(p, "/"))
	}
	if r.IsDir(p) {
		return filesys.ConfirmedDir(p), "", nil
	}
	return filesys.ConfirmedDir(path.Dir(p)), path.Base(p), nil
}

func (r *repoFS) Glob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(r.root, filepath.FromSlash(clean(pattern))))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		rel, err := filepath.Rel(r.root, m)
		if err != nil {
			continue
		}
		if p := clean(rel); r.Exists(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Walk visits p and below in lexical order, as repo paths; .git is skipped
// and symlinked folders are not entered.
func (r *repoFS) Walk(p string, fn filepath.WalkFunc) error {
	p = clean(p)
	rp, err := r.real(p)
	if err != nil {
		return fn(p, nil, err)
	}
	return filepath.Walk(rp, func(q string, info fs.FileInfo, err error) error {
		rel, relErr := filepath.Rel(rp, q)
		if relErr != nil {
			return relErr
		}
		vp := path.Join(p, filepath.ToSlash(rel))
		if info != nil && info.IsDir() && info.Name() == ".git" {
			return filepath.SkipDir
		}
		return fn(vp, info, err)
	})
}

func (r *repoFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (r *repoFS) Mkdir(string) error                  { return errReadOnly }
func (r *repoFS) MkdirAll(string) error               { return errReadOnly }
func (r *repoFS) RemoveAll(string) error              { return errReadOnly }

type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Write([]byte) (int, error) { return 0, errReadOnly }
func (f *memFile) Close() error              { return nil }
func (f *memFile) Stat() (os.FileInfo, error) {
	return memInfo{name: f.name, size: f.size}, nil
}

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// maxAliasExpansion bounds the nodes a YAML file may expand to through its
// aliases: far above any real manifest, far below what exhausts memory.
const maxAliasExpansion = 1_000_000

// checkAliases refuses YAML whose aliases would expand to more than
// maxAliasExpansion nodes. It parses into nodes, which keeps each alias as
// a pointer, and counts each anchor's expanded size once, so a bomb costs
// no more to check than its own length. Files that are not YAML pass: the
// parsers that read them report their errors.
func checkAliases(b []byte) error {
	if !bytes.Contains(b, []byte("*")) {
		return nil // no alias: nothing to expand
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	sizes := map[*yamlv3.Node]int{}
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			return nil // end of the stream, or not YAML
		}
		if expanded(&doc, sizes, 0) > maxAliasExpansion {
			return fmt.Errorf("YAML aliases expand to more than %d nodes; refused as an alias bomb", maxAliasExpansion)
		}
	}
}

func expanded(n *yamlv3.Node, sizes map[*yamlv3.Node]int, depth int) int {
	if n == nil || depth > 10_000 {
		return 1
	}
	if s, ok := sizes[n]; ok {
		return s
	}
	sizes[n] = maxAliasExpansion + 1 // a cycle counts as unbounded
	total := 1
	if n.Kind == yamlv3.AliasNode {
		total += expanded(n.Alias, sizes, depth+1)
	}
	for _, c := range n.Content {
		total += expanded(c, sizes, depth+1)
		if total > maxAliasExpansion {
			break
		}
	}
	sizes[n] = total
	return total
}
