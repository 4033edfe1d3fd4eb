package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	sigsjson "sigs.k8s.io/json"

	"github.com/secretsync/secretsync/internal/intern"
)

// header is what every object is first decoded into, to route it.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Data       map[string]any  `json:"data"`
	StringData map[string]any  `json:"stringData"`
	Spec       json.RawMessage `json:"spec"`
}

// esoShaped reports a spec with a field only ESO objects have: an object
// without apiVersion and kind that has one is a broken manifest, not a
// values file, and must not vanish.
func (h header) esoShaped() bool {
	var spec map[string]json.RawMessage
	if json.Unmarshal(h.Spec, &spec) != nil {
		return false
	}
	for _, f := range []string{"secretStoreRef", "dataFrom", "provider", "refreshInterval", "target"} {
		if _, ok := spec[f]; ok {
			return true
		}
	}
	return false
}

func decodeInto(set *Set, d doc, opt Options) {
	if d.err != nil {
		set.Errors = append(set.Errors, &ObjectError{Source: d.source, Err: d.err})
		return
	}
	var h header
	if err := json.Unmarshal(d.json, &h); err != nil {
		set.Errors = append(set.Errors, &ObjectError{Source: d.source, Err: fmt.Errorf("not a Kubernetes object: %w", err)})
		return
	}
	group, version, _ := strings.Cut(h.APIVersion, "/")
	if version == "" {
		group, version = "", group
	}
	dc := &decoding{set: set, d: d, h: h, group: group, version: version, opt: opt}
	if dc.settledByHeader() {
		return
	}
	dc.decodeKind()
}

// decoding is one document on its way into a Set: its header, its options,
// and where its errors and skips go.
type decoding struct {
	set            *Set
	d              doc
	h              header
	group, version string
	opt            Options
}

// oerr is an error about the object, in the namespace it will land in.
func (dc *decoding) oerr(field string, err error) *ObjectError {
	h := dc.h
	ns := h.Metadata.Namespace
	if ns == "" && h.Kind != KindClusterSecretStore && h.Kind != KindClusterExternalSecret && h.Kind != "ClusterPushSecret" {
		ns = dc.opt.DefaultNamespace
	}
	return &ObjectError{Source: dc.d.source, Kind: h.Kind, Namespace: ns, Name: h.Metadata.Name, Field: field, Err: err}
}

func (dc *decoding) fail(field string, err error) {
	dc.set.Errors = append(dc.set.Errors, dc.oerr(field, err))
}

// failAll records each field error; it reports whether there was one.
func (dc *decoding) failAll(errs []fieldError) bool {
	for _, fe := range errs {
		dc.fail(fe.field, fe.err)
	}
	return len(errs) > 0
}

func (dc *decoding) skip(reason string) {
	h := dc.h
	dc.set.Skipped = append(dc.set.Skipped, Skipped{Source: dc.d.source, APIVersion: h.APIVersion, Kind: h.Kind,
		Namespace: h.Metadata.Namespace, Name: h.Metadata.Name, Reason: reason})
}

// settledByHeader refuses or skips what is not an external-secrets.io
// object, or not a whole one; it reports whether it did.
func (dc *decoding) settledByHeader() bool {
	h, group := dc.h, dc.group
	switch {
	case h.APIVersion == "" && h.Kind == "" && h.esoShaped():
		dc.fail("", errors.New("no apiVersion and no kind, but a spec only External Secrets Operator objects have; did you mean apiVersion external-secrets.io/v1, kind ExternalSecret?"))
	case h.APIVersion == "" && h.Kind == "":
		// Values files, CI configs, Chart.yaml: YAML, but no object.
		dc.skip("not a Kubernetes object: no apiVersion and no kind")
	case h.APIVersion == "":
		dc.fail("apiVersion", errors.New("required: the object has a kind but no apiVersion"))
	case h.Kind == "":
		dc.fail("kind", errors.New("required: the object has an apiVersion but no kind"))
	case group == "" && h.Kind == "Secret":
		if len(h.Data) > 0 || len(h.StringData) > 0 {
			dc.fail("data", errors.New("a Secret with values is refused: values do not belong in Git; reference them with an ExternalSecret"))
			return true
		}
		dc.skip("Secret without data")
	case group != Group && group != GeneratorsGroup:
		if hint := typoHint(h.APIVersion, group, h.Kind); hint != "" {
			dc.fail("", errors.New(hint))
			return true
		}
		dc.skip("not an external-secrets.io object")
	default:
		return false
	}
	return true
}

// decodeKind decodes an object of the external-secrets.io groups by its
// kind and version, refusing the kinds and versions secretsync does not run.
func (dc *decoding) decodeKind() {
	h, group, version := dc.h, dc.group, dc.version
	switch {
	case group == GeneratorsGroup && generatorSpecs[h.Kind] == nil:
		dc.fail("kind", fmt.Errorf("kind %s (%s) is an External Secrets Operator generator secretsync does not run (it runs %s); nothing is applied for it and prune waits until it is removed",
			h.Kind, group, strings.Join(slices.Sorted(maps.Keys(generatorSpecs)), ", ")))
	case group == GeneratorsGroup:
		dc.generator()
	case h.Kind == "ClusterPushSecret":
		dc.fail("kind", errors.New("ClusterPushSecret is refused: secretsync does not expand it yet (write one PushSecret per namespace); nothing is pushed for it"))
	case h.Kind == KindPushSecret && version != "v1alpha1":
		dc.fail("apiVersion", fmt.Errorf("version %q is not supported for PushSecret; use v1alpha1", version))
	case h.Kind == KindPushSecret:
		dc.pushSecret()
	case h.Kind != KindExternalSecret && h.Kind != KindSecretStore && h.Kind != KindClusterSecretStore && h.Kind != KindClusterExternalSecret:
		msg := fmt.Sprintf("kind %s of %s is not supported by secretsync (it handles %s, %s, %s, %s and %s); nothing is applied for it and prune waits until it is removed",
			h.Kind, group, KindExternalSecret, KindClusterExternalSecret, KindSecretStore, KindClusterSecretStore, KindPushSecret)
		if near := nearest(h.Kind, esoKinds, 2); near != "" {
			msg = fmt.Sprintf("kind %s is not an External Secrets Operator kind; did you mean %s?", h.Kind, near)
		}
		dc.fail("kind", errors.New(msg))
	case dc.opt.NamespacedOnly && (h.Kind == KindClusterSecretStore || h.Kind == KindClusterExternalSecret):
		dc.fail("kind", fmt.Errorf("%s is refused: this instance accepts only namespaced kinds from its repo path (--namespaced-only); a %s reaches every namespace secretsync may write to", h.Kind, h.Kind))
	case version != "v1" && version != "v1beta1":
		dc.fail("apiVersion", fmt.Errorf("version %q is not supported; use v1 or v1beta1", version))
	case h.Kind == KindExternalSecret:
		dc.externalSecret()
	case h.Kind == KindClusterExternalSecret:
		dc.clusterExternalSecret()
	default:
		dc.store()
	}
}

func (dc *decoding) generator() {
	g := &Generator{}
	if err := strict(dc.d.json, g); err != nil {
		dc.fail("", err)
		return
	}
	g.Source = dc.d.source
	if g.Namespace == "" {
		g.Namespace = dc.opt.DefaultNamespace
	}
	if field, err := validateGenerator(g); err != nil {
		dc.fail(field, err)
		return
	}
	dc.set.Generators = append(dc.set.Generators, g)
}

func (dc *decoding) pushSecret() {
	ps := &PushSecret{}
	if err := strict(dc.d.json, ps); err != nil {
		dc.fail("", err)
		return
	}
	ps.Source = dc.d.source
	if ps.Namespace == "" {
		ps.Namespace = dc.opt.DefaultNamespace
	}
	if dc.failAll(validatePushSecret(ps)) {
		return
	}
	dc.set.PushSecrets = append(dc.set.PushSecrets, ps)
}

// externalSecret decodes an ExternalSecret; an invalid one is kept as
// Refused as well as reported.
func (dc *decoding) externalSecret() {
	es := &ExternalSecret{}
	if err := strict(dc.d.json, es); err != nil {
		dc.fail("", err)
		return
	}
	es.Source = dc.d.source
	if es.Namespace == "" {
		es.Namespace = dc.opt.DefaultNamespace
	}
	if dc.failAll(validateExternalSecret(es)) {
		dc.set.Refused = append(dc.set.Refused, es)
		return
	}
	es.makeID()
	shareStrings(es)
	dc.set.ExternalSecrets = append(dc.set.ExternalSecrets, es)
}

func (dc *decoding) clusterExternalSecret() {
	ces := &ClusterExternalSecret{}
	if err := strict(dc.d.json, ces); err != nil {
		dc.fail("", err)
		return
	}
	ces.Source, ces.Namespace = dc.d.source, ""
	if dc.failAll(validateClusterExternalSecret(ces)) {
		return
	}
	dc.set.ClusterExternalSecrets = append(dc.set.ClusterExternalSecrets, ces)
}

// store decodes a SecretStore or ClusterSecretStore.
func (dc *decoding) store() {
	st := &SecretStore{}
	if err := strictStore(dc.d.json, st); err != nil {
		dc.fail("", err)
		return
	}
	st.Source = dc.d.source
	if st.Kind == KindSecretStore && st.Namespace == "" {
		st.Namespace = dc.opt.DefaultNamespace
	}
	if st.Kind == KindClusterSecretStore {
		st.Namespace = ""
	}
	if field, err := validateStore(st); err != nil {
		dc.fail(field, err)
		return
	}
	dc.set.Stores = append(dc.set.Stores, st)
}

var esoKinds = []string{KindExternalSecret, KindClusterExternalSecret, KindSecretStore, KindClusterSecretStore, KindPushSecret}

// typoHint says what an object outside the ESO groups was probably meant to
// be, when its apiVersion or kind is a near miss of ESO's; "" when it is
// some other Kubernetes object. A near miss is an error, never a skip: a
// typo would otherwise make the ExternalSecret vanish and its Secret be
// pruned.
func typoHint(apiVersion, group, kind string) string {
	for _, g := range []string{Group, GeneratorsGroup} {
		// "external-secrets.io.v1": the slash mistyped, so no group at all.
		if !strings.Contains(apiVersion, "/") && distance(strings.ToLower(apiVersion), g+"/v1") <= 2 {
			return fmt.Sprintf("apiVersion %q is not valid; did you mean %s/v1?", apiVersion, g)
		}
		if group != "" && distance(strings.ToLower(group), g) <= 3 {
			return fmt.Sprintf("apiVersion %q: group %s is not known; did you mean %s?", apiVersion, group, g)
		}
	}
	if near := nearest(kind, esoKinds, 2); near != "" {
		return fmt.Sprintf("kind %s with apiVersion %q is not an External Secrets Operator object; did you mean apiVersion %s/v1, kind %s?", kind, apiVersion, Group, near)
	}
	return ""
}

// nearest returns the candidate within max edits of s (ignoring case), or "".
func nearest(s string, candidates []string, max int) string {
	for _, c := range candidates {
		if distance(strings.ToLower(s), strings.ToLower(c)) <= max {
			return c
		}
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// strict decodes with unknown and duplicate fields as errors.
func strict(b []byte, v any) error {
	strictErrs, err := sigsjson.UnmarshalStrict(b, v)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return errors.Join(strictErrs...)
	}
	return nil
}

// strictStore decodes a store; a provider other than aws is reported by
// name rather than as an unknown field.
func strictStore(b []byte, st *SecretStore) error {
	var probe struct {
		Spec struct {
			Provider map[string]json.RawMessage `json:"provider"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(b, &probe)
	for name := range probe.Spec.Provider {
		if name != "aws" {
			return fmt.Errorf("spec.provider.%s: provider %q is not supported; secretsync supports aws", name, name)
		}
	}
	return strict(b, st)
}

// shareStrings makes the strings that repeat across ExternalSecrets (kind,
// namespace, store, keys, policies) one copy each: a render of 50,000
// holds them all.
func shareStrings(es *ExternalSecret) {
	sp := &es.Spec
	intern.Strings(&es.APIVersion, &es.Namespace, &sp.SecretStoreRef.Name, &sp.SecretStoreRef.Kind, &sp.RefreshPolicy,
		&sp.Target.CreationPolicy, &sp.Target.DeletionPolicy)
	for i := range sp.Data {
		r := &sp.Data[i].RemoteRef
		intern.Strings(&sp.Data[i].SecretKey, &r.Property, &r.Version, &r.MetadataPolicy, &r.ConversionStrategy, &r.DecodingStrategy, &r.NullBytePolicy)
	}
}
