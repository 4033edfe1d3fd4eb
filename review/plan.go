package review

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	actions "github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// Plan is what a change does to Secrets: for each Secret created, deleted
// or changed, the mapping of every key before and after. Mappings name
// stores, keys, properties, versions and templates; never values.
type Plan struct {
	Base    string       `json:"base"`
	Head    string       `json:"head"`
	Summary Summary      `json:"summary"`
	Secrets []SecretPlan `json:"secrets"`
	// Remote are the secrets in AWS that PushSecrets start or stop writing.
	Remote   []RemotePlan `json:"remote,omitempty"`
	Findings []Finding    `json:"findings"`
}

// Summary counts the Secrets by action.
type Summary struct {
	Create int `json:"create"`
	Delete int `json:"delete"`
	Change int `json:"change"`
	// Leave counts the Secrets whose ExternalSecret leaves Git under a
	// policy run never deletes by.
	Leave int `json:"leave,omitempty"`
}

// SecretPlan is one Secret that the change touches.
type SecretPlan struct {
	Namespace      string      `json:"namespace"`
	Name           string      `json:"name"`
	Kind           string      `json:"kind,omitempty"` // ConfigMap for a ConfigMap target
	Action         string      `json:"action"`         // create, delete, change, leave
	ExternalSecret string      `json:"externalSecret"`
	Source         string      `json:"source"`
	Keys           []KeyChange `json:"keys"`
	// DroppedWith names the folder or file (and why) that the head's render
	// leaves out with this deleted Secret's ExternalSecret in it.
	DroppedWith string `json:"droppedWith,omitempty"`
	// PruneRefused is why run's prune guard refuses to delete it, as the
	// plan of actions says (pruneVerdicts); "" when it would delete it.
	PruneRefused string `json:"pruneRefused,omitempty"`
	// Left is, for action leave, what run does instead of a delete: its
	// ExternalSecret leaves Git under a creationPolicy that does not own
	// the Secret, so run never deletes it.
	Left string `json:"left,omitempty"`
}

// KeyChange is one key's mapping before and after; an empty side means the
// key is added or removed. Settings of the whole Secret (type, policies,
// template metadata) appear as keys in parentheses.
type KeyChange struct {
	Key    string `json:"key"`
	Action string `json:"action"` // add, remove, change
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

type secretMap struct {
	es       *render.ExternalSecret
	mappings map[string]string
}

// mappings describes, key by key, how an ExternalSecret fills its Secret.
func mappings(es *render.ExternalSecret) map[string]string {
	out := map[string]string{}
	ref := func(r render.RemoteRef) string {
		parts := []string{"key " + short(r.Key)}
		for _, kv := range [][2]string{{"property", r.Property}, {"version", r.Version}, {"decoding", r.DecodingStrategy},
			{"conversion", r.ConversionStrategy}, {"metadata", r.MetadataPolicy}, {"nullBytes", r.NullBytePolicy}} {
			if kv[1] != "" {
				parts = append(parts, kv[0]+" "+kv[1])
			}
		}
		return strings.Join(parts, ", ")
	}
	// The references as run sees them (desired.Entries); the stores map
	// only binds KMS targets, which a plan does not show.
	for _, e := range desired.Entries(es, nil) {
		store := e.Store.Kind + "/" + e.Store.Name
		if e.SecretKey != "" {
			out[e.SecretKey] = store + ": " + ref(*e.Remote)
			continue
		}
		key, _, _ := strings.Cut(strings.TrimPrefix(e.Field, "spec."), ".") // dataFrom[i]
		switch {
		case e.Generator != nil:
			out["("+key+")"] = "generator " + e.Generator.Kind + "/" + e.Generator.Name + ": values made in the cluster, kept in the Secret"
		case e.Find == nil:
			out["("+key+")"] = store + ": every key of the remote secret, " + ref(*e.Remote)
		default:
			out["("+key+")"] = store + ": find " + findSelector(e.Find)
		}
		rewrites(out, key, e.Rewrite)
	}
	targetMappings(out, es.Spec.Target)
	return out
}

// findSelector describes a dataFrom find: what it selects and how.
func findSelector(f *render.Find) string {
	var sel []string
	if f.Path != nil {
		sel = append(sel, "path "+*f.Path)
	}
	if f.Name != nil {
		sel = append(sel, "name ~ "+f.Name.RegExp)
	}
	tags := make([]string, 0, len(f.Tags))
	for k, v := range f.Tags {
		tags = append(tags, k+"="+v)
	}
	sort.Strings(tags)
	if len(tags) > 0 {
		sel = append(sel, "tags "+strings.Join(tags, ","))
	}
	for _, kv := range [][2]string{{"decoding", f.DecodingStrategy}, {"conversion", f.ConversionStrategy}, {"nullBytes", f.NullBytePolicy}} {
		if kv[1] != "" {
			sel = append(sel, kv[0]+" "+kv[1])
		}
	}
	return strings.Join(sel, ", ")
}

// rewrites describes a dataFrom entry's rewrites, one mapping each.
func rewrites(out map[string]string, key string, list []render.Rewrite) {
	for j, rw := range list {
		k := fmt.Sprintf("(%s.rewrite[%d])", key, j)
		switch {
		case rw.Regexp != nil:
			out[k] = "regexp " + rw.Regexp.Source + " -> " + rw.Regexp.Target
		case rw.Transform != nil:
			out[k] = "transform " + rw.Transform.Template
		case rw.Merge != nil:
			m := rw.Merge
			out[k] = fmt.Sprintf("merge strategy %q into %q, priority %q, priorityPolicy %q, conflictPolicy %q", m.Strategy, m.Into, m.Priority, m.PriorityPolicy, m.ConflictPolicy)
		}
	}
}

// targetMappings describes the target's policies and template.
func targetMappings(out map[string]string, t render.Target) {
	for _, kv := range [][2]string{{"(creationPolicy)", t.CreationPolicy}, {"(deletionPolicy)", t.DeletionPolicy}} {
		if kv[1] != "" {
			out[kv[0]] = kv[1]
		}
	}
	if t.Immutable {
		out["(immutable)"] = "true"
	}
	if tp := t.Template; tp != nil {
		if tp.Type != "" {
			out["(type)"] = tp.Type
		}
		if tp.MergePolicy != "" {
			out["(template.mergePolicy)"] = tp.MergePolicy
		}
		for k, body := range tp.Data {
			out[k] = "template " + oneLine(body)
		}
		for i, tf := range tp.TemplateFrom {
			k := fmt.Sprintf("(templateFrom[%d])", i)
			switch {
			case tf.Literal != nil:
				out[k] = "literal " + oneLine(*tf.Literal)
			case tf.ConfigMap != nil:
				out[k] = "configMap " + tf.ConfigMap.Name + " " + items(tf.ConfigMap.Items)
			case tf.Secret != nil:
				out[k] = "secret " + tf.Secret.Name + " " + items(tf.Secret.Items)
			}
			if tf.ValuesDecodingStrategy != "" {
				out[k] += ", values decoded " + tf.ValuesDecodingStrategy
			}
		}
		for k, v := range tp.Metadata.Labels {
			out["(label "+k+")"] = v
		}
		for k, v := range tp.Metadata.Annotations {
			out["(annotation "+k+")"] = v
		}
	}
}

func items(list []render.TemplateRefItem) string {
	var parts []string
	for _, it := range list {
		s := it.Key
		if it.TemplateAs != "" {
			s += " as " + it.TemplateAs
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// short keeps long keys (KMS ciphertext) readable.
func short(k string) string {
	if len(k) > 48 {
		return k[:20] + "…(" + fmt.Sprint(len(k)) + " chars)"
	}
	return k
}

func index(set *render.Set) map[string]secretMap {
	out := map[string]secretMap{}
	if set == nil {
		return out
	}
	for _, es := range set.ExternalSecrets {
		out[desired.Target(es)] = secretMap{es: es, mappings: mappings(es)}
	}
	return out
}

// keysOfBoth is the sorted keys of a and b together.
func keysOfBoth[V any](a, b map[string]V) []string {
	both := maps.Clone(a)
	if both == nil {
		both = map[string]V{}
	}
	maps.Copy(both, b)
	return slices.Sorted(maps.Keys(both))
}

// MakePlan compares two rendered revisions.
func MakePlan(baseName, headName string, base, head *render.Set) Plan {
	p := Plan{Base: baseName, Head: headName, Secrets: []SecretPlan{}, Findings: []Finding{}}
	b, h := index(base), index(head)
	droppedWith := map[string]string{} // ExternalSecret ID -> folder (reason)
	for _, d := range head.Dropped {
		for _, o := range d.Objects {
			if o.Kind == render.KindExternalSecret && o.Name != "" {
				droppedWith[o.ID()] = d.Noun() + " " + d.Path + " (" + d.Reason + ")"
			}
		}
	}
	for _, t := range keysOfBoth(b, h) {
		before, hadB := b[t]
		after, hasH := h[t]
		ref := after
		if !hasH {
			ref = before
		}
		sp := SecretPlan{Namespace: ref.es.Namespace, Name: ref.es.TargetName()}
		if k := ref.es.TargetKind(); k != render.KindSecret {
			sp.Kind = k
		}
		switch {
		case !hadB:
			sp.Action = "create"
			p.Summary.Create++
		case !hasH && desired.CreationPolicy(ref.es) != desired.PolicyOwner:
			sp.Action, sp.Left = "leave", leftBy(ref.es)
			sp.DroppedWith = droppedWith[ref.es.Namespace+"/"+ref.es.Name]
			p.Summary.Leave++
		case !hasH:
			sp.Action = "delete"
			sp.DroppedWith = droppedWith[ref.es.Namespace+"/"+ref.es.Name]
			p.Summary.Delete++
		default:
			sp.Action = "change"
		}
		sp.ExternalSecret = ref.es.Namespace + "/" + ref.es.Name
		sp.Source = ref.es.Source
		if sp.Action == "leave" { // the target keeps every key: none to list
			p.Secrets = append(p.Secrets, sp)
			continue
		}
		for _, k := range keysOfBoth(before.mappings, after.mappings) {
			bv, inB := before.mappings[k]
			av, inH := after.mappings[k]
			switch {
			case inB && inH && bv == av:
			case !inB:
				sp.Keys = append(sp.Keys, KeyChange{Key: k, Action: "add", After: av})
			case !inH:
				sp.Keys = append(sp.Keys, KeyChange{Key: k, Action: "remove", Before: bv})
			default:
				sp.Keys = append(sp.Keys, KeyChange{Key: k, Action: "change", Before: bv, After: av})
			}
		}
		if sp.Action == "change" && len(sp.Keys) == 0 {
			continue
		}
		if sp.Action == "change" {
			p.Summary.Change++
		}
		p.Secrets = append(p.Secrets, sp)
	}
	pruneVerdicts(&p, b, head)
	p.Remote = remotePlans(base, head)
	return p
}

// leftBy says what run does with the target of an ExternalSecret that
// leaves Git under a creationPolicy that does not own it: never a delete.
func leftBy(es *render.ExternalSecret) string {
	policy, noun := desired.CreationPolicy(es), "the "+es.TargetKind()
	switch policy {
	case desired.PolicyOrphan:
		return "creationPolicy Orphan: run never deletes " + noun + "; it stays as it is"
	case desired.PolicyNone:
		return "creationPolicy None: run wrote nothing, so it deletes nothing"
	}
	return "creationPolicy " + policy + ": run never deletes " + noun + "; the keys it merged stay"
}

// pruneVerdicts asks the prune guard run asks (inventory.PruneGuard, at the
// default budget, through plan.Prunes) about the Secrets the change
// deletes, and marks each it refuses with the reason. The base's owned
// Secrets stand for the inventory, which a review does not read.
func pruneVerdicts(p *Plan, base map[string]secretMap, head *render.Set) {
	var stale []actions.Target
	var at []int
	for i, sp := range p.Secrets {
		if sp.Action == "delete" {
			stale = append(stale, actions.Target{Namespace: sp.Namespace, Name: sp.Name, Kind: sp.Kind})
			at = append(at, i)
		}
	}
	recorded := 0
	for _, m := range base {
		if desired.CreationPolicy(m.es) == desired.PolicyOwner {
			recorded++
		}
	}
	v := inventory.PruneGuard(inventory.Prune{Noun: "ExternalSecret", RenderErrors: len(head.Errors),
		Candidates: len(stale), Recorded: recorded, Rendered: len(head.ExternalSecrets)})
	prunes, _ := actions.Prunes(stale, v.Reason, v.Failure)
	for j, a := range prunes {
		if a.Kind == actions.Refused {
			p.Secrets[at[j]].PruneRefused = a.Reason
		}
	}
}
