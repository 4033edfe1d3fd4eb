package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/secretsync/secretsync/providers"
)

// A PushSecret data entry's metadata is ESO's PushSecretMetadata envelope:
// {apiVersion, kind, spec}; spec's keys are the service's own (smPushMeta,
// ssmPushMeta). Like ESO (sigs.k8s.io/yaml with DisallowUnknownFields),
// unknown keys are refused by name and key names match without regard to
// case (ESO's Secrets Manager field is kmsKeyId, its docs spell kmsKeyID).
const (
	pushMetaAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	pushMetaKind       = "PushSecretMetadata"
)

// decodePushMeta reads raw (nil: no metadata) into spec, refusing another
// envelope and any key spec does not name.
func decodePushMeta(raw []byte, spec any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var env struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.APIVersion != pushMetaAPIVersion || env.Kind != pushMetaKind {
		return fmt.Errorf("metadata must be ESO's envelope: apiVersion %s, kind %s, the keys under spec", pushMetaAPIVersion, pushMetaKind)
	}
	if err := strict(raw, &env); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(env.Spec) == 0 {
		return nil
	}
	if err := strict(env.Spec, spec); err != nil {
		return fmt.Errorf("metadata.spec: %w", err)
	}
	return nil
}

// strict decodes JSON refusing unknown keys; its errors name the key, never
// a value (the metadata holds no secret, but a mistyped field's message
// quotes no input either).
func strict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s must be a JSON %s", te.Field, te.Type)
	}
	return err
}

// smPushMeta is ESO's Secrets Manager PushSecretMetadataSpec. Fields
// secretsync refuses are kept so their names decode and the refusal says why.
type smPushMeta struct {
	SecretPushFormat string            `json:"secretPushFormat"`
	KMSKeyID         string            `json:"kmsKeyId"`
	Description      string            `json:"description"`
	Tags             map[string]string `json:"tags"`
	// ResourcePolicy's policySourceRef reads a ConfigMap or Secret from the
	// PushSecret's namespace: refused.
	ResourcePolicy json.RawMessage `json:"resourcePolicy"`
	// ReplicationLocations replicates into other regions: refused.
	ReplicationLocations json.RawMessage `json:"replicationLocations"`
}

// smPushFormats are secretPushFormat's values; binary (SecretBinary) is
// ESO's default.
const (
	pushFormatBinary = "binary"
	pushFormatString = "string"
)

// smMeta decodes a Secrets Manager push's metadata with ESO's defaults.
func smMeta(raw []byte) (smPushMeta, error) {
	var m smPushMeta
	if err := decodePushMeta(raw, &m); err != nil {
		return m, err
	}
	switch {
	case m.ResourcePolicy != nil:
		return m, errors.New("metadata.spec.resourcePolicy is not supported: its policySourceRef reads a ConfigMap or Secret from the cluster, which a push from Git does not; attach the policy outside secretsync")
	case m.ReplicationLocations != nil:
		return m, errors.New("metadata.spec.replicationLocations is not supported: replicas in other regions are not pushed, checked nor deleted by secretsync")
	}
	switch m.SecretPushFormat {
	case "":
		m.SecretPushFormat = pushFormatBinary
	case pushFormatBinary, pushFormatString:
	default:
		return m, fmt.Errorf("metadata.spec.secretPushFormat must be %s or %s, not %q", pushFormatBinary, pushFormatString, m.SecretPushFormat)
	}
	if m.Description == "" {
		m.Description = pushDescription
	}
	if m.KMSKeyID == "" {
		m.KMSKeyID = pushKMSKeyID
	}
	return m, checkPushTags(m.Tags)
}

// ssmPushMeta is ESO's Parameter Store PushSecretMetadataSpec.
type ssmPushMeta struct {
	SecretType  string            `json:"secretType"`
	KMSKeyID    string            `json:"kmsKeyID"`
	Tier        ssmPushTier       `json:"tier"`
	Tags        map[string]string `json:"tags"`
	Description string            `json:"description"`
	// EncodeAsDecoded shapes the whole-Secret JSON, which is built before
	// the provider: refused.
	EncodeAsDecoded *bool `json:"encodeAsDecoded"`
}

type ssmPushTier struct {
	Type     string          `json:"type"`
	Policies json.RawMessage `json:"policies"`
}

// Parameter Store's push defaults, as ESO's: a String parameter in the
// Standard tier; SecureString under AWS's managed key.
const (
	ssmPushType     = "String"
	ssmPushTierName = "Standard"
	ssmPushKMSKeyID = "alias/aws/ssm"
)

var (
	ssmPushTypes = []string{"String", "StringList", "SecureString"}
	ssmPushTiers = []string{"Standard", "Advanced", "Intelligent-Tiering"}
)

// ssmMeta decodes a Parameter Store push's metadata with ESO's defaults.
func ssmMeta(raw []byte) (ssmPushMeta, error) {
	var m ssmPushMeta
	if err := decodePushMeta(raw, &m); err != nil {
		return m, err
	}
	if m.EncodeAsDecoded != nil {
		return m, errors.New("metadata.spec.encodeAsDecoded is not supported: a whole-Secret push is always written as secretsync builds it (keys to string values)")
	}
	if m.SecretType == "" {
		m.SecretType = ssmPushType
	} else if !slices.Contains(ssmPushTypes, m.SecretType) {
		return m, fmt.Errorf("metadata.spec.secretType must be one of %v, not %q", ssmPushTypes, m.SecretType)
	}
	if m.Tier.Type == "" {
		m.Tier.Type = ssmPushTierName
	} else if !slices.Contains(ssmPushTiers, m.Tier.Type) {
		return m, fmt.Errorf("metadata.spec.tier.type must be one of %v, not %q", ssmPushTiers, m.Tier.Type)
	}
	if m.Tier.Policies != nil && m.Tier.Type != "Advanced" {
		return m, errors.New("metadata.spec.tier.policies needs tier.type Advanced (Parameter Store takes policies only on advanced parameters)")
	}
	if m.KMSKeyID != "" && m.SecretType != "SecureString" {
		return m, errors.New("metadata.spec.kmsKeyID needs secretType SecureString: only a SecureString is encrypted")
	}
	if m.KMSKeyID == "" && m.SecretType == "SecureString" {
		m.KMSKeyID = ssmPushKMSKeyID
	}
	if m.Description == "" {
		m.Description = pushDescription
	}
	return m, checkPushTags(m.Tags)
}

// checkPushTags refuses the managed-by tag in metadata, as ESO does: it is
// the push's own mark, set on every secret a push creates.
func checkPushTags(tags map[string]string) error {
	if _, ok := tags[providers.ManagedByTag]; ok {
		return fmt.Errorf("metadata.spec.tags cannot set %s: every pushed secret carries %s=%s", providers.ManagedByTag, providers.ManagedByTag, providers.ManagedByValue)
	}
	return nil
}

// withManagedBy is tags plus the managed-by tag.
func withManagedBy(tags map[string]string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	out[providers.ManagedByTag] = providers.ManagedByValue
	return out
}

// tagDiff is what makes current equal want (which holds managed-by): the
// tags to set (new or changed) and the keys to remove. Only a push whose
// metadata sets tags manages them, as ESO's Secrets Manager push does; one
// without leaves the tags as they are.
func tagDiff(current, want map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range want {
		if cur, ok := current[k]; !ok || cur != v {
			set[k] = v
		}
	}
	for k := range current {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	slices.Sort(remove)
	return set, remove
}
