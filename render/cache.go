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
// One Cache serves one render at a time.
type Cache struct {
	mu     sync.Mutex
	builds map[string]cachedBuild // by build folder
	// Built and Reused count kustomize builds run and skipped.
	Built, Reused int

	// Plain YAML files by path, and decoded objects by content: a render
	// re-parses and re-decodes only what changed. Entries a render did not
	// use are dropped at its end.
	files, filesNext     map[string]cachedFile
	decoded, decodedNext map[docKey]decoded

	// Cached documents keep the key of their decode, not their JSON: at
	// 10,000 ExternalSecrets the JSON would be megabytes held between
	// passes. Keys depend on the default namespace they were made with
	// (ns); missed says a render met a cached document whose decode was
	// gone, and must be run again without the cache.
	ns string
	// namespacedOnly is the Options field the decodes were made with.
	namespacedOnly bool
	missed         bool
}

// decoded is what one document decoded to: most often one ExternalSecret,
// kept without a Set around it (a Set is six slices; a render of 10,000
// documents would hold 10,000 of them).
type decoded struct {
	es  *ExternalSecret
	set *Set // anything else
}

type cachedFile struct {
	sum  [32]byte
	docs []doc
}

type cachedBuild struct {
	reads map[string][32]byte
	docs  []doc
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{builds: map[string]cachedBuild{}, files: map[string]cachedFile{}, filesNext: map[string]cachedFile{},
		decoded: map[docKey]decoded{}, decodedNext: map[docKey]decoded{}}
}

// begin starts a render with opt; the cache starts over if its keys were
// made for another default namespace.
func (c *Cache) begin(opt Options) {
	if c == nil {
		return
	}
	if c.ns != opt.DefaultNamespace || c.namespacedOnly != opt.NamespacedOnly {
		c.reset()
		c.ns, c.namespacedOnly = opt.DefaultNamespace, opt.NamespacedOnly
	}
	c.missed = false
}

// reset forgets everything.
func (c *Cache) reset() {
	fresh := NewCache()
	c.builds, c.files, c.filesNext, c.decoded, c.decodedNext = fresh.builds, fresh.files, fresh.filesNext, fresh.decoded, fresh.decodedNext
}

// light gives each decodable document of docs its decode key, for this
// render's decode too, and returns them as the cache keeps them: with the
// key instead of the JSON.
func (c *Cache) light(docs []doc) []doc {
	out := make([]doc, len(docs))
	for i := range docs {
		if docs[i].err == nil && docs[i].json != nil {
			docs[i].key = c.keyOf(docs[i])
		}
		out[i] = docs[i]
		out[i].json = nil
	}
	return out
}

// docKey is a document's decode key: the first half of a sha256 of its
// source, the default namespace and its JSON. 128 bits leave collisions
// out of reach and halve what 50,000 cached documents hold in keys.
type docKey [16]byte

func (c *Cache) keyOf(d doc) docKey {
	h := sha256.New()
	h.Write([]byte(d.source + "\x00" + c.ns + "\x00"))
	h.Write(d.json)
	var key docKey
	copy(key[:], h.Sum(nil))
	return key
}

func (c *Cache) file(path string, content []byte) ([]doc, bool) {
	if c == nil {
		return nil, false
	}
	sum := sha256.Sum256(content)
	if f, ok := c.files[path]; ok && f.sum == sum {
		c.filesNext[path] = f
		return f.docs, true
	}
	return nil, false
}

func (c *Cache) keepFile(path string, content []byte, docs []doc) {
	if c != nil {
		c.filesNext[path] = cachedFile{sum: sha256.Sum256(content), docs: c.light(docs)}
	}
}

// decode decodes one document into set, reusing an earlier decode of the
// same source, content and options. Decoded objects are shared between
// renders and must not be modified.
func (c *Cache) decode(set *Set, d doc, opt Options) {
	if c == nil || d.err != nil {
		decodeInto(set, d, opt)
		return
	}
	key := d.key
	if key == (docKey{}) { // not through light
		key = c.keyOf(d)
	}
	part, ok := c.decoded[key]
	if !ok && d.json == nil {
		c.missed = true // its JSON is gone: Render runs again without the cache
		return
	}
	if !ok {
		one := &Set{}
		decodeInto(one, d, opt)
		if len(one.ExternalSecrets) == 1 && len(one.ClusterExternalSecrets)+len(one.Stores)+len(one.Generators)+len(one.PushSecrets)+len(one.Skipped)+len(one.Errors) == 0 {
			part.es = one.ExternalSecrets[0]
		} else {
			part.set = one
		}
	}
	c.decodedNext[key] = part
	if part.es != nil {
		set.ExternalSecrets = append(set.ExternalSecrets, part.es)
		return
	}
	set.ExternalSecrets = append(set.ExternalSecrets, part.set.ExternalSecrets...)
	set.ClusterExternalSecrets = append(set.ClusterExternalSecrets, part.set.ClusterExternalSecrets...)
	set.Stores = append(set.Stores, part.set.Stores...)
	set.Generators = append(set.Generators, part.set.Generators...)
	set.PushSecrets = append(set.PushSecrets, part.set.PushSecrets...)
	set.Skipped = append(set.Skipped, part.set.Skipped...)
	set.Errors = append(set.Errors, part.set.Errors...)
	set.Refused = append(set.Refused, part.set.Refused...)
}

// sweep ends a render: what it did not use is dropped.
func (c *Cache) sweep() {
	if c == nil {
		return
	}
	c.files, c.filesNext = c.filesNext, map[string]cachedFile{}
	c.decoded, c.decodedNext = c.decodedNext, map[docKey]decoded{}
}

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
	c.builds[dir] = cachedBuild{reads: rec.snapshot(), docs: c.light(docs)}
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
