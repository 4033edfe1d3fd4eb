package render

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryESOFieldIsHandledOrRefusedByName walks every field of ESO 2.9.0's
// v1 ExternalSecret, ClusterExternalSecret, SecretStore and
// ClusterSecretStore (provider.aws; every other provider as one field) and
// of the generator kinds secretsync runs (testdata/eso-fields.txt, made by
// hack/esofields from ESO's CRDs). Each field is set on a valid object and
// decoded as a render decodes it. A field is handled when it decodes into a
// typed field of secretsync's own types; otherwise (a field kept only as
// "present", ignored, raw JSON, or not in the types at all) the decode must
// fail with an error that names it, or it must be listed in acceptedUnused
// with the reason. An "unknown field" error always fails: that is how a
// typo reads, not a refusal.
func TestEveryESOFieldIsHandledOrRefusedByName(t *testing.T) {
	f, err := os.Open("testdata/eso-fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 3 {
			t.Fatalf("testdata/eso-fields.txt: bad line %q", line)
		}
		kind, path, typ := parts[0], parts[1], parts[2]
		n++
		root, ok := schemaRoots[kind]
		if !ok {
			t.Errorf("%s: no root type for kind %s", path, kind)
			continue
		}
		boundary := opaqueBoundary(root(), path)
		if reason, ok := acceptedUnused[kind+" "+path]; ok {
			seen[kind+" "+path] = true
			if reason == "" {
				t.Errorf("%s %s: accepted unused without a reason", kind, path)
			}
			continue
		}
		obj := schemaBaseline(kind)
		setPath(obj, strings.Split(path, "."), sampleOf(typ))
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		set := &Set{}
		decodeInto(set, doc{source: "x.yaml", json: b}, Options{DefaultNamespace: "ns"})
		var msgs []string
		for _, e := range set.Errors {
			msgs = append(msgs, e.Error())
		}
		all := strings.Join(msgs, "\n")
		switch {
		case strings.Contains(all, "unknown field"):
			t.Errorf("%s %s (%s): neither handled nor refused by name: %s", kind, path, typ, all)
		case boundary == "":
			// Decoded into a typed field of secretsync's types: handled.
		case !namesWithin(set.Errors, boundary, path):
			t.Errorf("%s %s (%s): secretsync's types keep it only as %s, and no error names it (errors: %q)", kind, path, typ, boundary, msgs)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 400 {
		t.Fatalf("only %d fields read from testdata/eso-fields.txt", n)
	}
	for k := range acceptedUnused {
		if !seen[k] {
			t.Errorf("acceptedUnused lists %s, which is not an ESO field", k)
		}
	}
}

// acceptedUnused are ESO fields secretsync accepts and does not need, and
// why; every other field is acted on or refused by name.
var acceptedUnused = map[string]string{
	"ClusterExternalSecret spec.refreshTime": "how often ESO looks at namespaces again; secretsync looks at every pass",
}

// schemaRoots are secretsync's type for each kind the walk reads; a
// generator's spec is decoded by its kind's own type.
var schemaRoots = map[string]func() reflect.Type{
	KindExternalSecret:        func() reflect.Type { return reflect.TypeFor[ExternalSecret]() },
	KindClusterExternalSecret: func() reflect.Type { return reflect.TypeFor[ClusterExternalSecret]() },
	KindSecretStore:           func() reflect.Type { return reflect.TypeFor[SecretStore]() },
	KindClusterSecretStore:    func() reflect.Type { return reflect.TypeFor[SecretStore]() },
	KindPushSecret:            func() reflect.Type { return reflect.TypeFor[PushSecret]() },
}

func init() {
	for kind, spec := range generatorSpecs {
		schemaRoots[kind] = func() reflect.Type {
			return reflect.StructOf([]reflect.StructField{{Name: "Spec", Type: reflect.TypeOf(spec()).Elem(), Tag: `json:"spec"`}})
		}
	}
}

// rawAs are raw JSON fields decoded later into a type of their own.
var rawAs = map[string]reflect.Type{
	"spec.data[].sourceRef.generatorRef":                        reflect.TypeFor[GeneratorRef](),
	"spec.dataFrom[].sourceRef.generatorRef":                    reflect.TypeFor[GeneratorRef](),
	"spec.externalSecretSpec.data[].sourceRef.generatorRef":     reflect.TypeFor[GeneratorRef](),
	"spec.externalSecretSpec.dataFrom[].sourceRef.generatorRef": reflect.TypeFor[GeneratorRef](),
	"spec.selector.generatorRef":                                reflect.TypeFor[GeneratorRef](),
}

var (
	typePresent = reflect.TypeFor[present]()
	typeIgnored = reflect.TypeFor[ignored]()
	typeRaw     = reflect.TypeFor[json.RawMessage]()
)

// opaqueBoundary is the first prefix of path that secretsync's types do
// not decode into a typed field (kept as present, ignored or raw JSON, or
// absent); "" when every part of path is typed.
func opaqueBoundary(t reflect.Type, path string) string {
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		name, _ := strings.CutSuffix(strings.TrimSuffix(seg, "{}"), "[]")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return strings.Join(segs[:i+1], ".")
		}
		ft, ok := jsonField(t, name)
		if !ok {
			return strings.Join(segs[:i+1], ".")
		}
		prefix := strings.Join(segs[:i+1], ".")
		if as, ok := rawAs[prefix]; ok {
			ft = as
		}
		if ft == typePresent || ft == typeIgnored || ft == typeRaw || ft.Kind() == reflect.Interface {
			return prefix
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.HasSuffix(seg, "[]") || strings.HasSuffix(seg, "{}") {
			if ft.Kind() != reflect.Slice && ft.Kind() != reflect.Map {
				return prefix
			}
			ft = ft.Elem()
		}
		t = ft
	}
	return ""
}

// jsonField finds the field that JSON name decodes into, through inline
// embedded structs.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" && f.Anonymous {
			if ft, ok := jsonField(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

var index = regexp.MustCompile(`\[[0-9]*\]|\{\}`)

// namesWithin reports whether an error names a field between boundary
// and path (indexes aside), or names boundary's parent with a message that
// starts with boundary's own name ("spec.x: merge ...").
func namesWithin(errs []*ObjectError, boundary, path string) bool {
	boundary, path = index.ReplaceAllString(boundary, ""), index.ReplaceAllString(path, "")
	parent, last := "", boundary
	if i := strings.LastIndex(boundary, "."); i >= 0 {
		parent, last = boundary[:i], boundary[i+1:]
	}
	for _, e := range errs {
		msg := e.Err.Error()
		for _, named := range []string{e.Field, fieldOf(msg)} {
			named = strings.TrimPrefix(index.ReplaceAllString(named, ""), ".")
			if named != "" && strings.HasPrefix(named, boundary) && strings.HasPrefix(path+".", named+".") {
				return true
			}
			if named == parent && strings.HasPrefix(msg, last+" ") {
				return true
			}
		}
	}
	return false
}

// fieldOf is the field an error message starts with ("spec.x: ...").
func fieldOf(msg string) string {
	f, _, ok := strings.Cut(msg, ": ")
	if !ok || strings.Contains(f, " ") {
		return ""
	}
	return f
}

// schemaBaseline is a valid object of kind, to set one field on.
func schemaBaseline(kind string) map[string]any {
	esSpec := func() map[string]any {
		return map[string]any{
			"secretStoreRef": map[string]any{"name": "s"},
			"data":           []any{map[string]any{"secretKey": "a", "remoteRef": map[string]any{"key": "k"}}},
			"dataFrom":       []any{map[string]any{"extract": map[string]any{"key": "k"}}},
		}
	}
	meta := map[string]any{"name": "x", "namespace": "ns"}
	switch kind {
	case KindExternalSecret:
		return map[string]any{"apiVersion": Group + "/v1", "kind": kind, "metadata": meta, "spec": esSpec()}
	case KindClusterExternalSecret:
		return map[string]any{"apiVersion": Group + "/v1", "kind": kind, "metadata": map[string]any{"name": "x"},
			"spec": map[string]any{"namespaces": []any{"ns"}, "externalSecretSpec": esSpec()}}
	case KindSecretStore, KindClusterSecretStore:
		if kind == KindClusterSecretStore {
			meta = map[string]any{"name": "x"}
		}
		return map[string]any{"apiVersion": Group + "/v1", "kind": kind, "metadata": meta,
			"spec": map[string]any{"provider": map[string]any{"aws": map[string]any{"service": "SecretsManager", "region": "eu-west-1"}}}}
	case KindPushSecret:
		return map[string]any{"apiVersion": Group + "/v1alpha1", "kind": kind, "metadata": meta,
			"spec": map[string]any{"secretStoreRefs": []any{map[string]any{"name": "s"}}, "selector": map[string]any{"secret": map[string]any{"name": "src"}},
				"data": []any{map[string]any{"match": map[string]any{"secretKey": "a", "remoteRef": map[string]any{"remoteKey": "k"}}}}}}
	}
	return map[string]any{"apiVersion": GeneratorsGroup + "/v1alpha1", "kind": kind, "metadata": meta, "spec": map[string]any{}}
}

// setPath sets the field at segs (a[] is the first item of list a) to v,
// keeping what the baseline has there.
func setPath(obj map[string]any, segs []string, v any) {
	seg := segs[0]
	name, list := strings.CutSuffix(seg, "[]")
	name, dict := strings.CutSuffix(name, "{}")
	if len(segs) == 1 {
		obj[name] = v
		return
	}
	switch {
	case list:
		items, _ := obj[name].([]any)
		if len(items) == 0 {
			items = []any{map[string]any{}}
		}
		obj[name] = items
		setPath(items[0].(map[string]any), segs[1:], v)
	case dict:
		m := map[string]any{}
		obj[name] = map[string]any{"k": m}
		setPath(m, segs[1:], v)
	default:
		m, ok := obj[name].(map[string]any)
		if !ok {
			m = map[string]any{}
			obj[name] = m
		}
		setPath(m, segs[1:], v)
	}
}

// sampleOf is a value of a schema type.
func sampleOf(typ string) any {
	switch {
	case strings.HasPrefix(typ, "[]"):
		return []any{sampleOf(typ[2:])}
	case strings.HasPrefix(typ, "map[string]"):
		return map[string]any{"k": sampleOf(typ[len("map[string]"):])}
	}
	switch typ {
	case "string", "any":
		return "x"
	case "int-or-string":
		return "1h"
	case "integer", "number":
		return 1
	case "boolean":
		return true
	}
	return map[string]any{}
}
