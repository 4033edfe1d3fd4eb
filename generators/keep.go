package generators

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Annotation records on a Secret, for each generator entry of its
// ExternalSecret, when its values were made and from which generator spec
// (a digest): never the values, which live only in the Secret. Each entry
// is keyed by its identity (stateKey), never by its place in dataFrom.
const Annotation = "secretsync.io/generators"

// legacyPrefix starts the keys of the annotation's first form, by the
// entry's dataFrom index; read once, written in the new form.
const legacyPrefix = "spec.dataFrom["

// tokenMaxAge renews an ECR or STS session token (both last 12 hours by
// default) before it expires, whatever the refresh interval says.
const tokenMaxAge = 11 * time.Hour

type state struct {
	At   time.Time `json:"at"`
	Spec string    `json:"spec"`
}

// Kept is what Keep needs of one ExternalSecret's generator entries.
type Kept struct {
	Entries    []desired.Entry
	Generators map[desired.GeneratorKey]*render.Generator
	// Live is the Secret their values are kept in; nil: none yet.
	Live *corev1.Secret
	// Refresh is the ExternalSecret's refresh policy and interval.
	Refresh plan.Refresh
	Now     time.Time
	// Run makes a generator's values (Generate, or a provider's).
	Run func(context.Context, *render.Generator) (map[string]providers.Value, error)
}

// Used reports whether any entry is a generator's.
func Used(entries []desired.Entry) bool {
	return slices.ContainsFunc(entries, func(e desired.Entry) bool { return e.Generator != nil })
}

// Keep returns the values of k's generator entries, by entry field, and
// the annotation that records them. A generator's values are kept, read
// back from the live Secret, until its refresh is due (Due) or its spec
// changes; a restart or a change elsewhere in the ExternalSecret does not
// make a new password.
func Keep(ctx context.Context, k Kept) (map[string]map[string]providers.Value, string, error) {
	var prev map[string]state
	if k.Live != nil {
		_ = json.Unmarshal([]byte(k.Live.Annotations[Annotation]), &prev)
	}
	out := map[string]map[string]providers.Value{}
	next := map[string]state{}
	for _, e := range k.Entries {
		if e.Generator == nil {
			continue
		}
		g := k.Generators[*e.Generator]
		if g == nil {
			return nil, "", fmt.Errorf("%s: generator %s is not in the rendered manifests", e.Field, e.Generator)
		}
		spec := Digest(g)
		id, err := stateKey(g, e)
		if err != nil {
			return nil, "", fmt.Errorf("%s: generator %s: %w", e.Field, e.Generator, err)
		}
		st, ok := prev[id]
		if !ok {
			st, ok = legacyState(prev, e.Field, spec)
		}
		if ok && st.Spec == spec && !Due(g, k.Refresh, st.At, k.Now) {
			if kv, ok := readBack(g, e, k.Live); ok {
				out[e.Field], next[id] = kv, st
				continue
			}
		}
		kv, err := k.Run(ctx, g)
		if err != nil {
			return nil, "", fmt.Errorf("%s: generator %s: %w", e.Field, e.Generator, err)
		}
		out[e.Field], next[id] = kv, state{At: k.Now.UTC().Truncate(time.Second), Spec: spec}
	}
	if len(next) == 0 {
		return out, "", nil
	}
	b, err := json.Marshal(next)
	return out, string(b), err
}

// stateKey is a generator entry's identity in Annotation: the generator's
// kind and name (always in the ExternalSecret's namespace) and the Secret
// keys its entry fills, e.g. "Password/db:password". Inserting or moving
// other entries leaves it as it is.
func stateKey(g *render.Generator, e desired.Entry) (string, error) {
	keys, err := desired.GeneratedKeys(g, e.Rewrite)
	if err != nil {
		return "", err
	}
	return g.Kind + "/" + g.Name + ":" + strings.Join(slices.Sorted(maps.Values(keys)), ","), nil
}

// legacyState finds an entry's state in the annotation's index-keyed first
// form: under its own field, else the one state of the same generator spec,
// so that a commit that moves the entry along with the upgrade keeps it.
func legacyState(prev map[string]state, field, spec string) (state, bool) {
	if st, ok := prev[field]; ok && st.Spec == spec {
		return st, true
	}
	var found []state
	for k, st := range prev {
		if strings.HasPrefix(k, legacyPrefix) && st.Spec == spec {
			found = append(found, st)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return state{}, false
}

// KeptAsMade checks that the Secret about to be written holds each
// generator entry's values as they were made: they are read back from it as
// the kept state, so a template or another source that writes one of those
// keys (password: "x{{ .password }}") would turn into a new value at every
// restart or change of the ExternalSecret. Tokens are not kept so.
func KeptAsMade(entries []desired.Entry, gens map[desired.GeneratorKey]*render.Generator, made map[string]map[string]providers.Value, data map[string]providers.Value) error {
	for _, e := range entries {
		// A token is made again when it cannot be read back, and is
		// renewed within hours whatever the Secret holds.
		if e.Generator == nil || gens[*e.Generator] == nil || render.IsToken(e.Generator.Kind) {
			continue
		}
		keys, err := desired.GeneratedKeys(gens[*e.Generator], e.Rewrite)
		if err != nil {
			return fmt.Errorf("%s: generator %s: %w", e.Field, e.Generator, err)
		}
		for _, outKey := range slices.Sorted(maps.Keys(keys)) {
			if v, ok := data[keys[outKey]]; !ok || !v.Equal(made[e.Field][outKey]) {
				return fmt.Errorf("%s: key %q of generator %s is rewritten by the template or another entry; its value is kept in that key, so it must be written as generated", e.Field, keys[outKey], e.Generator)
			}
		}
	}
	return nil
}

// Digest identifies a generator's kind and spec, never its values.
func Digest(g *render.Generator) string {
	sum := sha256.Sum256(append([]byte(g.Kind+"\x00"), g.Spec...))
	return hex.EncodeToString(sum[:8])
}

// Due reports whether g's values made at at are due for renewal at now: a
// token past tokenMaxAge, else the refresh rule (refresh: the
// ExternalSecret's policy and interval) with the time they were made as
// the last refresh. A change of the ExternalSecret or an AWS event does not
// count: a generator's values change only with its own spec (Keep) or its
// refresh.
func Due(g *render.Generator, refresh plan.Refresh, at, now time.Time) bool {
	if render.IsToken(g.Kind) && now.Sub(at) >= tokenMaxAge {
		return true
	}
	// A time ahead of this clock is another leader's, whose clock runs
	// ahead: taken as now, so that a skew never makes a new password.
	if at.After(now) {
		at = now
	}
	return plan.Refresh{Policy: refresh.Policy, Interval: refresh.Interval, Synced: true, At: at}.Due(now)
}

// readBack takes a generator entry's values from the live Secret, under the
// keys its rewrites made of them; ok is false when one is missing.
func readBack(g *render.Generator, e desired.Entry, live *corev1.Secret) (map[string]providers.Value, bool) {
	keys, err := desired.GeneratedKeys(g, e.Rewrite)
	if err != nil || live == nil {
		return nil, false
	}
	out := map[string]providers.Value{}
	for outKey, secretKey := range keys {
		v, ok := live.Data[secretKey]
		if !ok {
			return nil, false
		}
		out[outKey] = providers.NewValue(v)
	}
	return out, true
}
