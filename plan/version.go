package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/secretsync/secretsync/render"
)

// Version is ESO's GetResourceVersion of an ExternalSecret
// (generation and a hash of labels and annotations) with the spec itself
// in place of the generation, which counts its changes: a change of the
// spec, the labels or the annotations (ESO's force-sync annotation among
// them) is a change. The file it is in, its stores and its generators are
// not, as for ESO. 16 bytes of a sha256: a process holds one per
// ExternalSecret.
type Version [16]byte

// VersionOf is es's Version.
func VersionOf(es *render.ExternalSecret) Version {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(es.Spec)
	_ = enc.Encode(es.Labels) // maps encode in key order
	_ = enc.Encode(es.Annotations)
	var v Version
	copy(v[:], h.Sum(nil))
	return v
}

func (v Version) String() string { return hex.EncodeToString(v[:]) }

// ParseVersion reads String's form back.
func ParseVersion(s string) (Version, bool) {
	var v Version
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(v) {
		return v, false
	}
	copy(v[:], b)
	return v, true
}
