package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sigsjson "sigs.k8s.io/json"
)

// header is what every object is first decoded into, to route it.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Data       map[string]any `json:"data"`
	StringData map[string]any `json:"stringData"`
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
		if ns == "" && h.Kind != KindClusterSecretStore {
			ns = opt.DefaultNamespace
		}
		return &ObjectError{Source: d.source, Kind: h.Kind, Namespace: ns, Name: h.Metadata.Name, Field: field, Err: err}
	}
	skip := func(reason string) {
		set.Skipped = append(set.Skipped, Skipped{Source: d.source, APIVersion: h.APIVersion, Kind: h.Kind,
			Namespace: h.Metadata.Namespace, Name: h.Metadata.Name, Reason: reason})
	}
	switch {
	case h.APIVersion == "" || h.Kind == "":
		set.Errors = append(set.Errors, &ObjectError{Source: d.source, Err: errors.New("object has no apiVersion or kind")})
	case group == "" && h.Kind == "Secret":
		if len(h.Data) > 0 || len(h.StringData) > 0 {
			set.Errors = append(set.Errors, oerr("data", errors.New("a Secret with values is refused: values do not belong in Git; reference them with an ExternalSecret")))
			return
		}
		skip("Secret without data")
	case group != Group:
		skip("not an external-secrets.io object")
	case h.Kind != KindExternalSecret && h.Kind != KindSecretStore && h.Kind != KindClusterSecretStore:
		skip(h.Kind + " is not supported")
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
		if field, err := validateExternalSecret(es); err != nil {
			set.Errors = append(set.Errors, oerr(field, err))
			return
		}
		set.ExternalSecrets = append(set.ExternalSecrets, es)
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
