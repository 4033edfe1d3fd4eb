package render

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Dropped is a folder (or file) that a folder render leaves out, a Helm
// chart or what a .secretsyncignore excludes, and that holds ESO objects:
// run never reads them, so Secrets they made before are pruned. The review
// commands name each one (review.Validate, review.MakePlan).
type Dropped struct {
	Path    string          `json:"path"`   // repo-relative
	Folder  bool            `json:"folder"` // false: one file
	Reason  string          `json:"reason"`
	Objects []DroppedObject `json:"objects"`
}

// DroppedObject is one ESO document of a dropped path. Name is empty when
// the document is a template that cannot be read as YAML.
type DroppedObject struct {
	Source    string `json:"source"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

func (o DroppedObject) String() string {
	if o.Name == "" {
		return o.Kind + " in " + o.Source
	}
	id := o.Name
	if o.Namespace != "" {
		id = o.Namespace + "/" + o.Name
	}
	return o.Kind + " " + id + " in " + o.Source
}

// Noun is "folder" or "file".
func (d Dropped) Noun() string {
	if d.Folder {
		return "folder"
	}
	return "file"
}

// ID is namespace/name, as an ExternalSecret's ID.
func (o DroppedObject) ID() string { return o.Namespace + "/" + o.Name }

// esoAPIVersion matches an ESO apiVersion line of a document that is not
// YAML (a Helm template); kindLine its kind.
var (
	esoAPIVersion = regexp.MustCompile(`(?m)^apiVersion:\s*["']?(generators\.)?external-secrets\.io/`)
	kindLine      = regexp.MustCompile(`(?m)^kind:\s*["']?([A-Za-z]+)`)
)

// droppedObjects lists the ESO documents of the YAML files at p (a file, or
// a folder and everything below it). Files it cannot read are passed over:
// the list says what is known to be dropped, and the render goes on without
// them as before.
func droppedObjects(fsys filesys.FileSystem, p string, isDir bool) []DroppedObject {
	var files []string
	if !isDir {
		files = []string{p}
	} else {
		_ = fsys.Walk(p, func(q string, info fs.FileInfo, err error) error {
			if err == nil && !info.IsDir() && isYAMLName(q) {
				files = append(files, q)
			}
			return nil
		})
	}
	sort.Strings(files)
	var out []DroppedObject
	for _, f := range files {
		b, err := fsys.ReadFile(f)
		if err != nil {
			continue
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) || err != nil {
				break
			}
			if o, ok := esoDocument(raw); ok {
				o.Source = strings.TrimPrefix(f, "/")
				out = append(out, o)
			}
		}
	}
	return out
}

// esoDocument reads a document's apiVersion, kind and name, or, for one
// that is not YAML, its apiVersion and kind lines.
func esoDocument(raw []byte) (DroppedObject, bool) {
	var h struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if yaml.Unmarshal(raw, &h) == nil {
		group, _, _ := strings.Cut(h.APIVersion, "/")
		if group != Group && group != GeneratorsGroup {
			return DroppedObject{}, false
		}
		return DroppedObject{Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}, true
	}
	if !esoAPIVersion.Match(raw) {
		return DroppedObject{}, false
	}
	o := DroppedObject{Kind: "object"}
	if m := kindLine.FindSubmatch(raw); m != nil {
		o.Kind = string(m[1])
	}
	return o, true
}

// defaultNamespaces gives dropped objects that name no namespace the one
// the render gives, as decode does.
func defaultNamespaces(dropped []Dropped, ns string) {
	for i := range dropped {
		for j := range dropped[i].Objects {
			o := &dropped[i].Objects[j]
			if o.Namespace == "" && o.Name != "" && !strings.HasPrefix(o.Kind, "Cluster") { // cluster-scoped kinds
				o.Namespace = ns
			}
		}
	}
}

// dropPath records p, left out for reason, when it holds ESO objects.
func dropPath(fsys filesys.FileSystem, dropped []Dropped, p, reason string, isDir bool) []Dropped {
	if objs := droppedObjects(fsys, p, isDir); len(objs) > 0 {
		return append(dropped, Dropped{Path: repoPath(p), Folder: isDir, Reason: reason, Objects: objs})
	}
	return dropped
}
