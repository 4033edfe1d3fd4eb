package plan

import "fmt"

// Writer is one ExternalSecret (namespace/name, and its file) writing Keys
// into Target.
type Writer struct {
	Target                 Target
	ExternalSecret, Source string
	Keys                   []string
}

// SharedKeys refuses every writer of a key that two ExternalSecrets write
// into one target, so that neither silently wins: it returns why, by
// ExternalSecret, for each one refused.
func SharedKeys(writers []Writer) map[string]string {
	byTarget := map[Target][]int{}
	for i, w := range writers {
		byTarget[w.Target] = append(byTarget[w.Target], i)
	}
	bad := map[string]string{}
	for t, ws := range byTarget {
		seen := map[string]*Writer{}
		for _, i := range ws {
			w := &writers[i]
			for _, k := range w.Keys {
				if other, dup := seen[k]; dup && other.ExternalSecret != w.ExternalSecret {
					bad[w.ExternalSecret] = fmt.Sprintf("key %q of secret %s is also written by externalsecret %s (%s)", k, t, other.ExternalSecret, other.Source)
					bad[other.ExternalSecret] = fmt.Sprintf("key %q of secret %s is also written by externalsecret %s (%s)", k, t, w.ExternalSecret, w.Source)
				}
				seen[k] = w
			}
		}
	}
	return bad
}
