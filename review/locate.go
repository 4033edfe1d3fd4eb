package review

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var pathPart = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// locate finds the line of a field (like spec.data[0].remoteRef.key) in the
// document of root/source whose kind and metadata.name match, or the
// nearest enclosing field that exists. 0 means unknown.
func locate(root, source, kind, name, field string) int {
	b, err := os.ReadFile(filepath.Join(root, source))
	if err != nil {
		return 0
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return 0
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		if value(top, "kind") != kind || value(child(top, "metadata"), "name") != name {
			continue
		}
		line := top.Line
		n := top
		for _, m := range pathPart.FindAllStringSubmatch(field, -1) {
			if m[2] != "" {
				i, _ := strconv.Atoi(m[2])
				if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
					return line
				}
				n = n.Content[i]
			} else {
				key, val := entry(n, m[1])
				if key == nil {
					return line
				}
				line = key.Line
				n = val
			}
			if n == nil {
				return line
			}
			line = n.Line
		}
		return line
	}
}

// entry returns a mapping's key node and value node for key.
func entry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func child(n *yaml.Node, key string) *yaml.Node {
	_, v := entry(n, key)
	return v
}

func value(n *yaml.Node, key string) string {
	if c := child(n, key); c != nil {
		return c.Value
	}
	return ""
}
