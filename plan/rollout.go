package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Workload is an opted-in Deployment, StatefulSet or DaemonSet as rollout
// on change reads it.
type Workload struct {
	Kind, Namespace, Name string
	// Secrets are the Secrets it reloads on (its namespace's).
	Secrets []string
	// Hash is the secrets-hash its pod template carries now.
	Hash string
}

// RollOut decides whether a workload rolls out: when the hash of its
// Secrets' content hashes (hashes: a Secret's after the pass; ok false for
// one secretsync does not manage) differs from the one its pod template
// carries. Values never enter the hash, only content hashes. The action's
// Hash is the pod template's new secrets-hash; ok false means no rollout.
func RollOut(w Workload, hashes func(name string) (string, bool)) (a Action, ok bool) {
	h := sha256.New()
	found := false
	for _, n := range w.Secrets {
		if v, ok := hashes(n); ok {
			fmt.Fprintf(h, "%s=%s;", n, v)
			found = true
		}
	}
	if !found {
		return a, false
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	if w.Hash == sum {
		return a, false
	}
	return Action{Kind: Rollout, Target: Target{Namespace: w.Namespace, Name: w.Name, Kind: w.Kind}, Hash: sum}, true
}
