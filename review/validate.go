// Package review is what a pull request needs without a cluster or a
// value: validation findings, and a plan of every secret mapping that a
// change creates, deletes or alters. It reads rendered manifests only.
package review

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

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
	return b.String() + ": " + f.Message
}

// Options are the checks that depend on where the manifests will run.
type Options struct {
	// Namespaces secretsync may write to; empty allows all.
	Namespaces []string
}

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// Validate checks a rendered set: the schema and ESO's rules (already in
// set.Errors), then what spans objects: store references, store scope,
// namespaces, KMS use, and writers of one Secret. root is the folder the
// files are relative to, for line numbers.
func Validate(root string, set *render.Set, opt Options) []Finding {
	var out []Finding
	for _, e := range set.Errors {
		f := Finding{File: e.Source, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Field: e.Field, Message: e.Err.Error()}
		field := e.Field
		if m := unknownField.FindStringSubmatch(f.Message); m != nil {
			field = m[1]
		}
		if e.Kind != "" {
			f.Line = locate(root, e.Source, e.Kind, e.Name, field)
		}
		out = append(out, f)
	}
	stores := map[string]*render.SecretStore{}
	for _, st := range set.Stores {
		stores[st.Kind+"/"+st.Namespace+"/"+st.Name] = st
	}
	allowed := map[string]bool{}
	for _, ns := range opt.Namespaces {
		allowed[ns] = true
	}
	type writer struct {
		es      *render.ExternalSecret
		owning  bool
		keys    []string
		allKeys bool // dataFrom: keys known only at run time
	}
	writers := map[string][]writer{}
	for _, es := range set.ExternalSecrets {
		finding := func(field, format string, a ...any) {
			out = append(out, Finding{File: es.Source, Line: locate(root, es.Source, es.Kind, es.Name, field),
				Kind: render.KindExternalSecret, Namespace: es.Namespace, Name: es.Name, Field: field, Message: fmt.Sprintf(format, a...)})
		}
		if len(allowed) > 0 && !allowed[es.Namespace] {
			finding("metadata.namespace", "namespace %s is not one secretsync may write to", es.Namespace)
		}
		check := func(field string, src *render.SourceRef, dataFrom bool) {
			kind, ns, name := es.StoreRef(src)
			st, ok := stores[kind+"/"+ns+"/"+name]
			switch {
			case !ok:
				finding(field, "%s %s is not in the rendered manifests", kind, strings.TrimPrefix(ns+"/"+name, "/"))
			case st.Spec.Provider.AWS.Service == "KMS" && dataFrom:
				finding(field, "%s %s is a KMS store: ciphertext is bound to one key, so use data[], not dataFrom", kind, name)
			case kind == render.KindClusterSecretStore && !servesOffline(st, es.Namespace):
				finding(field, "ClusterSecretStore %s does not serve namespace %s: no condition matches it", name, es.Namespace)
			}
		}
		w := writer{es: es, owning: es.Spec.Target.CreationPolicy != "Merge" && es.Spec.Target.CreationPolicy != "CreateOrMerge" && es.Spec.Target.CreationPolicy != "None"}
		for i, d := range es.Spec.Data {
			check(fmt.Sprintf("spec.data[%d]", i), d.SourceRef, false)
			w.keys = append(w.keys, d.SecretKey)
		}
		for i, d := range es.Spec.DataFrom {
			check(fmt.Sprintf("spec.dataFrom[%d]", i), d.SourceRef, true)
			w.allKeys = true
		}
		if es.Spec.Target.CreationPolicy != "None" {
			t := es.Namespace + "/" + es.TargetName()
			writers[t] = append(writers[t], w)
		}
	}
	targets := make([]string, 0, len(writers))
	for t := range writers {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		ws := writers[t]
		for i, a := range ws {
			for _, b := range ws[:i] {
				var why string
				switch {
				case a.owning && b.owning:
					why = "both write it whole"
				case shared(a.keys, b.keys) != "":
					why = fmt.Sprintf("both write key %q", shared(a.keys, b.keys))
				}
				if why == "" {
					continue
				}
				for _, pair := range [][2]writer{{a, b}, {b, a}} {
					es, other := pair[0].es, pair[1].es
					out = append(out, Finding{File: es.Source, Line: locate(root, es.Source, es.Kind, es.Name, "spec.target"),
						Kind: render.KindExternalSecret, Namespace: es.Namespace, Name: es.Name, Field: "spec.target",
						Message: fmt.Sprintf("Secret %s is also written by ExternalSecret %s/%s (%s): %s", t, other.Namespace, other.Name, other.Source, why)})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func shared(a, b []string) string {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return x
			}
		}
	}
	return ""
}

// servesOffline applies a ClusterSecretStore's name and regexp conditions;
// a namespaceSelector needs the cluster, so it is given the benefit of the
// doubt here and enforced at run time.
func servesOffline(st *render.SecretStore, ns string) bool {
	if len(st.Spec.Conditions) == 0 {
		return true
	}
	for _, c := range st.Spec.Conditions {
		if c.NamespaceSelector != nil {
			return true
		}
		for _, n := range c.Namespaces {
			if n == ns {
				return true
			}
		}
		for _, expr := range c.NamespaceRegexes {
			if re, err := regexp.Compile(expr); err == nil && re.MatchString(ns) {
				return true
			}
		}
	}
	return false
}
