package render

import (
	"crypto/sha256"
	"io/fs"
	"path/filepath"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeMu lets kustomize runs share the process, except one that sets
// its own OpenAPI schema, which krusty keeps in a package-level variable.
var kustomizeMu sync.RWMutex

// Cache keeps kustomize builds between renders. A build is reused while
// every file it read (or looked for) is unchanged, so a commit that touches
// one overlay re-renders only that overlay. A nil Cache builds every time.
type Cache struct {
	mu     sync.Mutex
	builds map[string]cachedBuild // by build folder
	// Built and Reused count kustomize builds run and skipped.
	Built, Reused int
}

type cachedBuild struct {
	reads map[string][32]byte
	docs  []doc
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{builds: map[string]cachedBuild{}} }

func (c *Cache) build(mem filesys.FileSystem, dir string) ([]doc, error) {
	if c == nil {
		return buildOne(mem, dir)
	}
	c.mu.Lock()
	cached, ok := c.builds[dir]
	c.mu.Unlock()
	if ok && unchanged(mem, cached.reads) {
		c.mu.Lock()
		c.Reused++
		c.mu.Unlock()
		return cached.docs, nil
	}
	rec := &recordingFS{FileSystem: mem, reads: map[string][32]byte{}}
	docs, err := buildOne(rec, dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.builds[dir] = cachedBuild{reads: rec.snapshot(), docs: docs}
	c.Built++
	c.mu.Unlock()
	return docs, nil
}

// state fingerprints what a build saw of a path: its content, that it is
// a folder, or that it is absent.
func state(fsys filesys.FileSystem, p string) [32]byte {
	switch {
	case !fsys.Exists(p):
		return sha256.Sum256([]byte("absent"))
	case fsys.IsDir(p):
		return sha256.Sum256([]byte("dir"))
	}
	b, err := fsys.ReadFile(p)
	if err != nil {
		return sha256.Sum256([]byte("unreadable"))
	}
	return sha256.Sum256(append([]byte("file:"), b...))
}

func unchanged(fsys filesys.FileSystem, reads map[string][32]byte) bool {
	for p, sum := range reads {
		if state(fsys, p) != sum {
			return false
		}
	}
	return true
}

// recordingFS notes every path kustomize reads or looks for.
type recordingFS struct {
	filesys.FileSystem
	mu    sync.Mutex
	reads map[string][32]byte
}

func (r *recordingFS) note(p string) {
	p = filepath.Clean(p)
	sum := state(r.FileSystem, p)
	r.mu.Lock()
	r.reads[p] = sum
	r.mu.Unlock()
}

func (r *recordingFS) ReadFile(p string) ([]byte, error) { r.note(p); return r.FileSystem.ReadFile(p) }
func (r *recordingFS) Exists(p string) bool              { r.note(p); return r.FileSystem.Exists(p) }
func (r *recordingFS) IsDir(p string) bool               { r.note(p); return r.FileSystem.IsDir(p) }
func (r *recordingFS) Open(p string) (filesys.File, error) {
	r.note(p)
	return r.FileSystem.Open(p)
}
func (r *recordingFS) ReadDir(p string) ([]string, error) {
	r.note(p)
	names, err := r.FileSystem.ReadDir(p)
	for _, n := range names {
		r.note(filepath.Join(p, n))
	}
	return names, err
}
func (r *recordingFS) Walk(p string, fn filepath.WalkFunc) error {
	return r.FileSystem.Walk(p, func(q string, info fs.FileInfo, err error) error {
		r.note(q)
		return fn(q, info, err)
	})
}

func (r *recordingFS) snapshot() map[string][32]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][32]byte, len(r.reads))
	for k, v := range r.reads {
		out[k] = v
	}
	return out
}
