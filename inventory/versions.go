package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Versions maps each remote reference to the version id last read. It is a
// sorted list rather than a map because a pass holds one per ExternalSecret
// (twice: the old inventory and this pass's), and a Go map of one entry
// costs ten times its two strings. In JSON it is an object, as a map was.
type Versions []Version

// Version is one remote reference and the version id read from it.
type Version struct{ Ref, ID string }

// Get returns the version id of ref, or "".
func (v Versions) Get(ref string) string {
	if i, ok := v.find(ref); ok {
		return v[i].ID
	}
	return ""
}

// find is where ref is, or would go.
func (v Versions) find(ref string) (int, bool) {
	return slices.BinarySearchFunc(v, ref, func(e Version, ref string) int { return strings.Compare(e.Ref, ref) })
}

// Set adds or replaces ref's version id, keeping the order.
func (v Versions) Set(ref, id string) Versions {
	i, ok := v.find(ref)
	if ok {
		v[i].ID = id
		return v
	}
	return slices.Insert(v, i, Version{ref, id})
}

func (v Versions) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Ref)
		if err != nil {
			return nil, err
		}
		id, err := json.Marshal(e.ID)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(id)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (v *Versions) UnmarshalJSON(b []byte) error {
	// Through a map, then sorted: a JSON decoder per row costs more than
	// the row (an inventory holds 50,000 of these).
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	if m == nil {
		*v = nil
		return nil
	}
	out := make(Versions, 0, len(m))
	for ref, id := range m {
		out = append(out, Version{ref, id})
	}
	slices.SortFunc(out, func(a, b Version) int { return strings.Compare(a.Ref, b.Ref) })
	*v = out
	return nil
}
