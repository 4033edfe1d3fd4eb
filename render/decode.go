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
	oerr := func(field string, err error) *ObjectError {
		ns := h.Metadata.Namespace
		if ns == "" && h.Kind != KindClusterSecretStore && h.Kind != KindClusterExternalSecret && h.Kind != "ClusterPushSecret" {
			ns = opt.DefaultNamespace
		}
		return &ObjectError{Source: d.source, Kind: h.Kind, Namespace: ns, Name: h.Metadata.Name, Field: field, Err: err}
	}
	skip := func(reason string) {
		set.Skipped = append(set.Skipped, Skipped{Source: d.source, APIVersion: h.APIVersion, Kind: h.Kind,
			Namespace: h.Metadata.Namespace, Name: h.Metadata.Name, Reason: reason})
	}
	switch {
	case h.APIVersion == "" && h.Kind == "" && h.esoShaped():
		set.Errors = append(set.Errors, oerr("", errors.New("no apiVersion and no kind, but a spec only External Secrets Operator objects have; did you mean apiVersion external-secrets.io/v1, kind ExternalSecret?")))
	case h.APIVersion == "" && h.Kind == "":
		// Values files, CI configs, Chart.yaml: YAML, but no object.
		skip("not a Kubernetes object: no apiVersion and no kind")
	case h.APIVersion == "":
		set.Errors = append(set.Errors, oerr("apiVersion", errors.New("required: the object has a kind but no apiVersion")))
	case h.Kind == "":
		set.Errors = append(set.Errors, oerr("kind", errors.New("required: the object has an apiVersion but no kind")))
	case group == "" && h.Kind == "Secret":
		if len(h.Data) > 0 || len(h.StringData) > 0 {
			set.Errors = append(set.Errors, oerr("data", errors.New("a Secret with values is refused: values do not belong in Git; reference them with an ExternalSecret")))
			return
		}
		skip("Secret without data")
	case group != Group && group != GeneratorsGroup:
		if hint := typoHint(h.APIVersion, group, h.Kind); hint != "" {
			set.Errors = append(set.Errors, oerr("", errors.New(hint)))
			return
		}
		skip("not an external-secrets.io object")
	case group == GeneratorsGroup && generatorSpecs[h.Kind] == nil:
		set.Errors = append(set.Errors, oerr("kind", fmt.Errorf("kind %s (%s) is an External Secrets Operator generator secretsync does not run (it runs %s); nothing is applied for it and prune waits until it is removed",
			h.Kind, group, strings.Join(slices.Sorted(maps.Keys(generatorSpecs)), ", "))))
	case group == GeneratorsGroup:
		g := &Generator{}
		if err := strict(d.json, g); err != nil {
			set.Errors = append(set.Errors, oerr("", err))
			return
		}
		g.Source = d.source
		if g.Namespace == "" {
			g.Namespace = opt.DefaultNamespace
		}
		if field, err := validateGenerator(g); err != nil {
			set.Errors = append(set.Errors, oerr(field, err))
			return
		}
		set.Generators = append(set.Generators, g)
	case h.Kind == "ClusterPushSecret":
		set.Errors = append(set.Errors, oerr("kind", errors.New("ClusterPushSecret is refused: secretsync does not expand it yet (write one PushSecret per namespace); nothing is pushed for it")))
	case h.Kind == KindPushSecret && version != "v1alpha1":
		set.Errors = append(set.Errors, oerr("apiVersion", fmt.Errorf("version %q is not supported for PushSecret; use v1alpha1", version)))
	case h.Kind == KindPushSecret:
		ps := &PushSecret{}
		if err := strict(d.json, ps); err != nil {
			set.Errors = append(set.Errors, oerr("", err))
			return
		}
		ps.Source = d.source
		if ps.Namespace == "" {
			ps.Namespace = opt.DefaultNamespace
		}
		if errs := validatePushSecret(ps); len(errs) > 0 {
			for _, fe := range errs {
				set.Errors = append(set.Errors, oerr(fe.field, fe.err))
			}
			return
		}
		set.PushSecrets = append(set.PushSecrets, ps)
	case h.Kind != KindExternalSecret && h.Kind != KindSecretStore && h.Kind != KindClusterSecretStore && h.Kind != KindClusterExternalSecret:
		msg := fmt.Sprintf("kind %s of %s is not supported by secretsync (it handles %s, %s, %s, %s and %s); nothing is applied for it and prune waits until it is removed",
			h.Kind, group, KindExternalSecret, KindClusterExternalSecret, KindSecretStore, KindClusterSecretStore, KindPushSecret)
		if near := nearest(h.Kind, esoKinds, 2); near != "" {
			msg = fmt.Sprintf("kind %s is not an External Secrets Operator kind; did you mean %s?", h.Kind, near)
		}
		set.Errors = append(set.Errors, oerr("kind", errors.New(msg)))
	case opt.NamespacedOnly && (h.Kind == KindClusterSecretStore || h.Kind == KindClusterExternalSecret):
		set.Errors = append(set.Errors, oerr("kind", fmt.Errorf("%s is refused: this instance accepts only namespaced kinds from its repo path (--namespaced-only); a %s reaches every namespace secretsync may write to", h.Kind, h.Kind)))
	case version != "v1" && version != "v1beta1":
		set.Errors = append(set.Errors, oerr("apiVersion", fmt.Errorf("version %q is not supported; use v1 or v1beta1", version)))
	case h.Kind == KindExternalSecret:
		es := &ExternalSecret{}
		if err := strict(d.json, es); err != nil {
			set.Errors = append(set.Errors, oerr("", err))
			return
		}
		es.Source = d.source
		if es.Namespace == "" {
			es.Namespace = opt.DefaultNamespace
		}
		if errs := validateExternalSecret(es); len(errs) > 0 {
			for _, fe := range errs {
				set.Errors = append(set.Errors, oerr(fe.field, fe.err))
			}
			set.Refused = append(set.Refused, es)
			return
		}
		es.makeID()
		shareStrings(es)
		set.ExternalSecrets = append(set.ExternalSecrets, es)
	case h.Kind == KindClusterExternalSecret:
		ces := &ClusterExternalSecret{}
		if err := strict(d.json, ces); err != nil {
			set.Errors = append(set.Errors, oerr("", err))
			return
		}
		ces.Source, ces.Namespace = d.source, ""
		if errs := validateClusterExternalSecret(ces); len(errs) > 0 {
			for _, fe := range errs {
				set.Errors = append(set.Errors, oerr(fe.field, fe.err))
			}
			return
		}
		set.ClusterExternalSecrets = append(set.ClusterExternalSecrets, ces)
	default:
		st := &SecretStore{}
		if err := strictStore(d.json, st); err != nil {
			set.Errors = append(set.Errors, oerr("", err))
			return
		}
		st.Source = d.source
		if st.Kind == KindSecretStore && st.Namespace == "" {
			st.Namespace = opt.DefaultNamespace
		}
		if st.Kind == KindClusterSecretStore {
			st.Namespace = ""
		}
		if field, err := validateStore(st); err != nil {
			set.Errors = append(set.Errors, oerr(field, err))
			return
		}
		set.Stores = append(set.Stores, st)
	}
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
