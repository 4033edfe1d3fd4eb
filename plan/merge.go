package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
)

// mergeID names one merging ExternalSecret (its namespace/name) in
// annotation keys and field managers, which have length limits.
func mergeID(externalSecret string) string {
	sum := sha256.Sum256([]byte(externalSecret))
	return hex.EncodeToString(sum[:5])
}

// MergeManager is the field manager a merging ExternalSecret writes its
// keys under, so that other writers' keys stay theirs.
func MergeManager(externalSecret string) string {
	return FieldManager + "-merge-" + mergeID(externalSecret)
}

// MergeKey is the annotation that carries a merging ExternalSecret's hash.
func MergeKey(externalSecret string) string { return "secretsync.io/merge-" + mergeID(externalSecret) }

// ForeignOwners returns, for each of keys that another field manager holds
// in live, that manager: a merge overwrites such a key, as ESO does, and
// says so. self is the merging ExternalSecret's own manager.
func ForeignOwners(live *corev1.Secret, keys []string, self string) map[string]string {
	if live == nil {
		return nil
	}
	out := map[string]string{}
	for _, m := range live.ManagedFields {
		if m.Manager == self || m.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Data map[string]json.RawMessage `json:"f:data"`
		}
		if json.Unmarshal(m.FieldsV1.Raw, &fields) != nil {
			continue
		}
		for _, k := range keys {
			if _, held := fields.Data["f:"+k]; held {
				if _, seen := out[k]; !seen {
					out[k] = m.Manager
				}
			}
		}
	}
	return out
}
