// Package review is what a pull request needs without a cluster or a
// value: validation findings, and a plan of every secret mapping that a
// change creates, deletes or alters. It reads rendered manifests only.
package review

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// Finding is one problem, with its file, line, object and field.
type Finding struct {
	File      string `json:"file"`
	Line      int    `json:"line,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message"`
	// Status, when compared with a base revision, is "new" or "existing".
	Status string `json:"status,omitempty"`
	// Stops lists the ExternalSecrets (namespace/name) that this finding
	// keeps from being applied, when they are more than its own object:
	// every writer of a contested Secret, every user of a broken store.
	Stops []string `json:"stops,omitempty"`
}

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	if f.Line > 0 {
		fmt.Fprintf(&b, ":%d", f.Line)
	}
	if f.Kind != "" {
		id := f.Name
		if f.Namespace != "" {
			id = f.Namespace + "/" + f.Name
		}
		fmt.Fprintf(&b, ": %s %s", f.Kind, id)
	}
	if f.Field != "" {
		fmt.Fprintf(&b, ": %s", f.Field)
	}
	b.WriteString(": " + f.Message)
	if f.Status == StatusExisting {
		b.WriteString(" (already on the base)")
	}
	return b.String()
}

// Finding statuses against a base revision.
const (
	StatusNew      = "new"
	StatusExisting = "existing"
)

// MarkNew sets each finding's Status: existing when the base has the same
// finding (the same file, object, field and message; lines may move), new
// otherwise. It returns how many are new.
func MarkNew(head, base []Finding) int {
	type id struct{ file, kind, ns, name, field, msg string }
	seen := map[id]bool{}
	for _, f := range base {
		seen[id{f.File, f.Kind, f.Namespace, f.Name, f.Field, f.Message}] = true
	}
	n := 0
	for i := range head {
		f := &head[i]
		if seen[id{f.File, f.Kind, f.Namespace, f.Name, f.Field, f.Message}] {
			f.Status = StatusExisting
			continue
		}
		f.Status = StatusNew
		n++
	}
	return n
}

// Options are the checks that depend on where the manifests will run.
type Options struct {
	// Namespaces secretsync may write to; empty allows all.
	Namespaces []string
}

// Decoding errors that name a field: an unknown one, or one of the wrong
// type ("cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations").
var (
	unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)
	wrongType    = regexp.MustCompile(`Go struct field \w+\.([\w.\[\]]+) of type`)
)

// ObjectErrors are the set's per-object errors as findings, each with the
// line of its field when the file has it.
func ObjectErrors(root string, set *render.Set) []Finding {
	var out []Finding
	for _, e := range set.Errors {
		f := Finding{File: e.Source, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Field: e.Field, Message: e.Err.Error()}
		field := e.Field
		if m := unknownField.FindStringSubmatch(f.Message); m != nil {
			field = m[1]
		} else if m := wrongType.FindStringSubmatch(f.Message); m != nil {
			field = m[1]
		}
		if e.Kind != "" {
			f.Line = locate(root, e.Source, e.Kind, e.Name, field)
		}
		out = append(out, f)
	}
	return out
}

// Validate checks a rendered set: the schema and ESO's rules (already in
// set.Errors), then what spans objects: store references, store scope,
// namespaces, KMS use, and writers of one Secret. root is the folder the
// files are relative to, for line numbers.
func Validate(root string, set *render.Set, opt Options) []Finding {
	out := ObjectErrors(root, set)
	// A store that failed to decode is one finding; the ExternalSecrets
	// that use it are counted on it, not reported one by one.
	brokenStore := map[desired.StoreKey]int{} // index in out
	storeUsers := map[desired.StoreKey]map[string]bool{}
	for i, f := range out {
		if desired.IsStoreKind(f.Kind) {
			brokenStore[desired.StoreKeyOf(f.Kind, f.Namespace, f.Name)] = i
		}
	}
	// What run refuses without AWS, decided once (desired.Compile). Writers
	// of one Secret are reported once per Secret below, not per writer.
	compiled := desired.Compile(set, desired.Options{Namespaces: opt.Namespaces})
	compiled = append(compiled, compileRefused(set, desired.Options{Namespaces: opt.Namespaces})...)
	for _, it := range compiled {
		es := it.ES
		for _, p := range it.Problems {
			var c desired.Conflict
			switch {
			case errors.As(p.Err, &c):
			case p.BrokenStore != nil:
				k := *p.BrokenStore
				if storeUsers[k] == nil {
					storeUsers[k] = map[string]bool{}
				}
				storeUsers[k][es.Namespace+"/"+es.Name] = true
			default:
				out = append(out, Finding{File: es.Source, Line: locate(root, es.Source, render.KindExternalSecret, es.Name, p.Field),
					Kind: render.KindExternalSecret, Namespace: es.Namespace, Name: es.Name, Field: p.Field, Message: p.Err.Error()})
			}
		}
	}
	out = append(out, pushFindings(root, set, opt)...)
	for key, users := range storeUsers {
		f := &out[brokenStore[key]]
		f.Message += fmt.Sprintf("; %d ExternalSecrets use it", len(users))
		for u := range users {
			f.Stops = append(f.Stops, u)
		}
		sort.Strings(f.Stops)
	}
	// One finding per Secret that writers would fight over, on the first.
	for _, c := range desired.Conflicts(set) {
		es := c.Writers[0]
		var stops []string
		for _, w := range c.Writers {
			stops = append(stops, w.Namespace+"/"+w.Name)
		}
		out = append(out, Finding{File: es.Source, Line: locate(root, es.Source, render.KindExternalSecret, es.Name, "spec.target"),
			Kind: render.KindExternalSecret, Namespace: es.Namespace, Name: es.Name, Field: "spec.target", Message: c.Error(), Stops: stops})
	}
	// A folder the render leaves out is not read at all: say so when ESO
	// objects are in it, since Secrets they made before are pruned.
	for _, d := range set.Dropped {
		f := Finding{File: d.Path, Message: fmt.Sprintf("%s left out of the render (%s), but it holds ESO objects that run never reads: %s; a Secret they made is pruned",
			d.Noun(), d.Reason, joinObjects(d.Objects))}
		for _, o := range d.Objects {
			if o.Kind == render.KindExternalSecret && o.Name != "" {
				f.Stops = append(f.Stops, o.ID())
			}
		}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// pushFindings are the PushSecrets' problems, as run refuses them.
func pushFindings(root string, set *render.Set, opt Options) []Finding {
	var out []Finding
	stores, gens := desired.IndexStores(set), desired.IndexGenerators(set)
	static := make(map[string][]desired.PushRemote, len(set.PushSecrets))
	for _, ps := range set.PushSecrets {
		static[ps.ID()] = desired.StaticRemotes(ps, stores)
	}
	shared := desired.SharedRemotes(set.PushSecrets, stores, func(ps *render.PushSecret) []desired.PushRemote { return static[ps.ID()] })
	for _, ps := range set.PushSecrets {
		probs := desired.PushProblemsOf(ps, stores, desired.Options{Namespaces: opt.Namespaces}, static[ps.ID()])
		if _, err := desired.PushGenerator(ps, gens); err != nil {
			probs = append(probs, desired.Problem{Field: "spec.selector.generatorRef", Err: err})
		}
		if p := shared[ps.ID()]; p != nil {
			probs = append(probs, *p)
		}
		probs = append(probs, pushMetaProblems(ps, stores)...)
		for _, p := range probs {
			out = append(out, Finding{File: ps.Source, Line: locate(root, ps.Source, render.KindPushSecret, ps.Name, p.Field),
				Kind: render.KindPushSecret, Namespace: ps.Namespace, Name: ps.Name, Field: p.Field, Message: p.Err.Error()})
		}
	}
	return out
}

// pushMetaProblems are the bad keys and values of ps's data and dataTo
// metadata, each by field, as the provider of each store the entry pushes
// to decodes them at push time (awsservice), with the same words; once per
// field and message when two stores of one service say the same.
func pushMetaProblems(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore) []desired.Problem {
	var out []desired.Problem
	seen := map[string]bool{}
	check := func(field string, raw []byte, store desired.StoreKey) {
		if len(raw) == 0 || stores[store] == nil {
			return
		}
		for _, p := range desired.Service(stores[store]).PushMetaProblems(raw) {
			f := field + ".metadata"
			if p.Key != "" {
				f += "." + p.Key
			}
			if !seen[f+"\x00"+p.Msg] {
				seen[f+"\x00"+p.Msg] = true
				out = append(out, desired.Problem{Field: f, Err: errors.New(p.Msg)})
			}
		}
	}
	for _, store := range desired.PushStores(ps, stores) {
		for i, d := range ps.Spec.Data {
			check(fmt.Sprintf("spec.data[%d]", i), d.Metadata, store)
		}
		for i, dt := range ps.Spec.DataTo {
			if desired.DataToSelects(ps, dt, store, stores) {
				check(fmt.Sprintf("spec.dataTo[%d]", i), dt.Metadata, store)
			}
		}
	}
	return out
}

// sortFindings sorts on every field, so that the same input gives the same
// output.
func sortFindings(out []Finding) {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.File != b.File:
			return a.File < b.File
		case a.Line != b.Line:
			return a.Line < b.Line
		case a.Field != b.Field:
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}

// compileRefused compiles the ExternalSecrets render refused (set.Refused),
// which run never builds, so that validate reports their other problems (a
// missing store, a namespace it may not write to) beside render's, every
// problem of an object at once. A data or dataFrom entry render flagged
// keeps render's finding alone (one per entry), and an entry with no store
// name is render's "secretStoreRef.name: required".
func compileRefused(set *render.Set, opt desired.Options) []desired.Item {
	if len(set.Refused) == 0 {
		return nil
	}
	flagged := map[string]bool{} // ID and entry
	for _, e := range set.Errors {
		if e.Kind == render.KindExternalSecret {
			flagged[e.ID()+" "+entryOf(e.Field)] = true
		}
	}
	alone := *set
	alone.ExternalSecrets = set.Refused
	items := desired.Compile(&alone, opt)
	for i := range items {
		it := &items[i]
		noStore := map[string]bool{}
		for _, e := range it.Entries {
			noStore[e.Field] = e.Generator == nil && e.Store.Name == ""
		}
		var kept []desired.Problem
		for _, p := range it.Problems {
			entry := entryOf(p.Field)
			if entry != "" && (flagged[it.ES.ID()+" "+entry] || noStore[p.Field]) {
				continue
			}
			kept = append(kept, p)
		}
		it.Problems = kept
	}
	return items
}

// entryOf is the data or dataFrom entry a field is in ("spec.data[2]"),
// or "" for a field of no entry.
func entryOf(field string) string {
	for _, list := range []string{"spec.data[", "spec.dataFrom["} {
		if rest, ok := strings.CutPrefix(field, list); ok {
			if i := strings.IndexByte(rest, ']'); i >= 0 {
				return list + rest[:i+1]
			}
		}
	}
	return ""
}

func joinObjects(objs []render.DroppedObject) string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.String()
	}
	return strings.Join(out, "; ")
}
