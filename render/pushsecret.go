package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KindPushSecret writes a Secret of the cluster to AWS (ESO's
// external-secrets.io/v1alpha1 PushSecret).
const KindPushSecret = "PushSecret"

// PushSecret is the part of ESO's v1alpha1 PushSecret that secretsync runs.
// Fields kept as json.RawMessage are in ESO's schema and refused by name
// (validatePushSecret) until secretsync runs them.
type PushSecret struct {
	APIVersion string  `json:"apiVersion,omitempty"`
	Kind       ignored `json:"kind,omitzero"`
	Meta       `json:"metadata"`
	Spec       PushSecretSpec  `json:"spec"`
	Status     json.RawMessage `json:"status,omitempty"`
	Source     string          `json:"-"`
}

type PushSecretSpec struct {
	RefreshInterval *Duration            `json:"refreshInterval,omitempty"`
	SecretStoreRefs []PushSecretStoreRef `json:"secretStoreRefs"`
	UpdatePolicy    string               `json:"updatePolicy,omitempty"`
	DeletionPolicy  string               `json:"deletionPolicy,omitempty"`
	Selector        PushSecretSelector   `json:"selector"`
	Data            []PushSecretData     `json:"data,omitempty"`
	DataTo          json.RawMessage      `json:"dataTo,omitempty"`
	Template        json.RawMessage      `json:"template,omitempty"`
}

type PushSecretStoreRef struct {
	Name          string          `json:"name,omitempty"`
	Kind          string          `json:"kind,omitempty"`
	LabelSelector json.RawMessage `json:"labelSelector,omitempty"`
}

type PushSecretSelector struct {
	Secret       *PushSecretSecret `json:"secret,omitempty"`
	GeneratorRef json.RawMessage   `json:"generatorRef,omitempty"`
}

type PushSecretSecret struct {
	Name     string          `json:"name,omitempty"`
	Selector json.RawMessage `json:"selector,omitempty"`
}

type PushSecretData struct {
	Match              PushSecretMatch `json:"match"`
	Metadata           json.RawMessage `json:"metadata,omitempty"`
	ConversionStrategy string          `json:"conversionStrategy,omitempty"`
}

type PushSecretMatch struct {
	SecretKey string              `json:"secretKey,omitempty"`
	RemoteRef PushSecretRemoteRef `json:"remoteRef"`
}

type PushSecretRemoteRef struct {
	RemoteKey string `json:"remoteKey"`
	Property  string `json:"property,omitempty"`
}

// The policies ESO defines, with their defaults first.
const (
	PushReplace     = "Replace"
	PushIfNotExists = "IfNotExists"
	PushDeleteNone  = "None"
	PushDelete      = "Delete"
)

// ID is namespace/name.
func (p *PushSecret) ID() string { return p.Namespace + "/" + p.Name }

// Updates is the update policy with its default.
func (p *PushSecret) Updates() string {
	if p.Spec.UpdatePolicy == "" {
		return PushReplace
	}
	return p.Spec.UpdatePolicy
}

// Deletes reports deletionPolicy Delete.
func (p *PushSecret) Deletes() bool { return p.Spec.DeletionPolicy == PushDelete }

// StoreKind is a store reference's kind with ESO's default.
func (s PushSecretStoreRef) StoreKind() string {
	if s.Kind == "" {
		return KindSecretStore
	}
	return s.Kind
}

// pushRefused refuses a field of ESO's schema secretsync does not run yet.
func pushRefused(what string) error {
	return fmt.Errorf("is refused: secretsync does not run %s for PushSecret yet; nothing is pushed for this PushSecret", what)
}

// validatePushSecret returns every problem of p, each naming its field.
func validatePushSecret(p *PushSecret) []fieldError {
	s := p.Spec
	var errs []fieldError
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, fieldError{field, err})
		}
	}
	if p.Name == "" {
		check("metadata.name", errors.New("required"))
	}
	if len(s.SecretStoreRefs) == 0 {
		check("spec.secretStoreRefs", errors.New("required: at least one store to push to"))
	}
	for i, ref := range s.SecretStoreRefs {
		f := fmt.Sprintf("spec.secretStoreRefs[%d]", i)
		switch {
		case len(ref.LabelSelector) > 0:
			check(f+".labelSelector", pushRefused("store label selectors (name the store)"))
		case ref.Name == "":
			check(f+".name", errors.New("required"))
		}
		if k := ref.StoreKind(); k != KindSecretStore && k != KindClusterSecretStore {
			check(f+".kind", fmt.Errorf("%q is not a store kind; use SecretStore or ClusterSecretStore", ref.Kind))
		}
	}
	switch s.UpdatePolicy {
	case "", PushReplace, PushIfNotExists:
	default:
		check("spec.updatePolicy", fmt.Errorf("%q is not valid; use Replace or IfNotExists", s.UpdatePolicy))
	}
	switch s.DeletionPolicy {
	case "", PushDeleteNone, PushDelete:
	default:
		check("spec.deletionPolicy", fmt.Errorf("%q is not valid; use None or Delete", s.DeletionPolicy))
	}
	if s.RefreshInterval != nil && s.RefreshInterval.Duration < 0 {
		check("spec.refreshInterval", errors.New("must not be negative"))
	}
	switch sel := s.Selector; {
	case len(sel.GeneratorRef) > 0:
		check("spec.selector.generatorRef", pushRefused("generators"))
	case sel.Secret == nil:
		check("spec.selector.secret", errors.New("required: the Secret to push"))
	case len(sel.Secret.Selector) > 0:
		check("spec.selector.secret.selector", pushRefused("label-selected source Secrets (name the Secret)"))
	case sel.Secret.Name == "":
		check("spec.selector.secret.name", errors.New("required"))
	}
	if len(s.DataTo) > 0 {
		check("spec.dataTo", pushRefused("dataTo (list each key in data)"))
	}
	if len(s.Template) > 0 {
		check("spec.template", pushRefused("templates"))
	}
	if len(s.Data) == 0 {
		check("spec.data", errors.New("required: secretsync pushes only what data lists"))
	}
	seen := map[string]int{}
	for i, d := range s.Data {
		f := fmt.Sprintf("spec.data[%d]", i)
		r := d.Match.RemoteRef
		switch {
		case len(d.Metadata) > 0:
			check(f+".metadata", pushRefused("per-entry metadata (secretPushFormat, kmsKeyID, description, tags)"))
		case d.ConversionStrategy != "" && d.ConversionStrategy != "None":
			check(f+".conversionStrategy", pushRefused("conversionStrategy "+d.ConversionStrategy))
		case r.RemoteKey == "":
			check(f+".match.remoteRef.remoteKey", errors.New("required"))
		case strings.TrimSpace(r.RemoteKey) != r.RemoteKey:
			check(f+".match.remoteRef.remoteKey", errors.New("has leading or trailing spaces"))
		default:
			id := r.RemoteKey + "\x00" + r.Property
			if j, dup := seen[id]; dup {
				check(f+".match.remoteRef", fmt.Errorf("pushes to the same remote key and property as spec.data[%d]", j))
			}
			seen[id] = i
		}
	}
	return errs
}
