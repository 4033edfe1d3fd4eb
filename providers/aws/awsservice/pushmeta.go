package awsservice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ManagedByTag and ManagedByValue are the tag ESO's AWS provider sets on
// every secret a PushSecret creates (providers re-exports them).
const (
	ManagedByTag   = "managed-by"
	ManagedByValue = "external-secrets"
)

// A PushSecret data entry's metadata is ESO's PushSecretMetadata envelope:
// {apiVersion, kind, spec}; spec's keys are the service's own
// (SecretsManagerPush, ParameterStorePush). Like ESO (sigs.k8s.io/yaml with
// DisallowUnknownFields), unknown keys are refused by name and key names
// match without regard to case (ESO's Secrets Manager field is kmsKeyId,
// its docs spell kmsKeyID). Every bad key and value is reported, not only
// the first, so that validate lists them all and run refuses with the same
// words.
const (
	PushMetaAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	PushMetaKind       = "PushSecretMetadata"
)

// MetaProblem is one bad key or value of a push's metadata: Key is its path
// under metadata ("spec.tags", "" for the whole), Msg what is wrong. The
// metadata holds no secret, and no message quotes more of it than a
// refused enum value.
type MetaProblem struct {
	Key string
	Msg string
}

func (p MetaProblem) Error() string {
	if p.Key == "" {
		return "metadata: " + p.Msg
	}
	return "metadata." + p.Key + ": " + p.Msg
}

// PushMetaProblems is every problem of raw (a data entry's metadata, nil
// when absent) for a push through a store of s; none for a service that
// takes no push (desired.PushProblems refuses the store itself).
func (s Service) PushMetaProblems(raw []byte) []MetaProblem {
	switch s {
	case SecretsManager:
		_, probs := DecodeSecretsManagerPush(raw)
		return probs
	case ParameterStore:
		_, probs := DecodeParameterStorePush(raw)
		return probs
	}
	return nil
}

// decodePushMeta reads raw (nil: no metadata) into the targets of spec's
// keys (set when spec is present), and returns a problem for another
// envelope and for every key no target names or of the wrong type.
func decodePushMeta(raw []byte, s Service, spec func() map[string]any) []MetaProblem {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var apiVersion, kind string
	var specRaw json.RawMessage
	probs := decodeKeys(raw, "", s, map[string]any{"apiVersion": &apiVersion, "kind": &kind, "spec": &specRaw})
	if apiVersion != PushMetaAPIVersion || kind != PushMetaKind {
		probs = append([]MetaProblem{{Msg: fmt.Sprintf("must be ESO's envelope: apiVersion %s, kind %s, the keys under spec", PushMetaAPIVersion, PushMetaKind)}}, probs...)
	}
	if len(specRaw) > 0 {
		probs = append(probs, decodeKeys(specRaw, "spec", s, spec())...)
	}
	return probs
}

// decodeKeys decodes the JSON object raw key by key into targets (matched
// as encoding/json matches: exactly, else without regard to case), in key
// order, returning a problem for each key no target names and each value
// of the wrong type.
func decodeKeys(raw []byte, at string, s Service, targets map[string]any) []MetaProblem {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []MetaProblem{{Key: at, Msg: "must be a JSON object"}}
	}
	var probs []MetaProblem
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		path := k
		if at != "" {
			path = at + "." + k
		}
		target := targets[k]
		for name, t := range targets {
			if target == nil && strings.EqualFold(name, k) {
				target = t
			}
		}
		if target == nil {
			probs = append(probs, MetaProblem{Key: path, Msg: fmt.Sprintf("is not a key of ESO's %s push metadata", s)})
			continue
		}
		if err := json.Unmarshal(obj[k], target); err != nil {
			probs = append(probs, MetaProblem{Key: path, Msg: "must be a JSON " + jsonKind(target)})
		}
	}
	return probs
}

// jsonKind names, in JSON's words, what a target takes.
func jsonKind(target any) string {
	switch target.(type) {
	case *string:
		return "string"
	case *map[string]string:
		return "object of strings"
	case *bool:
		return "boolean"
	}
	return "value"
}

// SecretsManagerPush is ESO's Secrets Manager PushSecretMetadataSpec.
// Fields secretsync refuses are kept so their names decode and the refusal
// says why.
type SecretsManagerPush struct {
	SecretPushFormat string
	KMSKeyID         string
	Description      string
	Tags             map[string]string
	// ResourcePolicy, when set, is the secret's resource policy, read from
	// a ConfigMap or Secret of the PushSecret's own namespace (PolicySource).
	ResourcePolicy *PolicySource
	// ReplicationLocations replicates into other regions: refused.
	ReplicationLocations json.RawMessage
}

// secretPushFormat's values; binary (SecretBinary) is ESO's default.
const (
	PushFormatBinary = "binary"
	PushFormatString = "string"
)

// DecodeSecretsManagerPush decodes a Secrets Manager push's metadata
// (secretPushFormat defaults to binary; the provider sets the other
// defaults) and returns every problem of it.
func DecodeSecretsManagerPush(raw []byte) (SecretsManagerPush, []MetaProblem) {
	var m SecretsManagerPush
	var policy json.RawMessage
	probs := decodePushMeta(raw, SecretsManager, func() map[string]any {
		return map[string]any{"secretPushFormat": &m.SecretPushFormat, "kmsKeyId": &m.KMSKeyID, "description": &m.Description,
			"tags": &m.Tags, "resourcePolicy": &policy, "replicationLocations": &m.ReplicationLocations}
	})
	if policy != nil {
		var pp []MetaProblem
		m.ResourcePolicy, pp = decodeResourcePolicy(policy)
		probs = append(probs, pp...)
	}
	if m.ReplicationLocations != nil {
		probs = append(probs, MetaProblem{"spec.replicationLocations", "is not supported: replicas in other regions are not pushed, checked nor deleted by secretsync"})
	}
	switch m.SecretPushFormat {
	case "":
		m.SecretPushFormat = PushFormatBinary
	case PushFormatBinary, PushFormatString:
	default:
		probs = append(probs, MetaProblem{"spec.secretPushFormat", fmt.Sprintf("must be %s or %s, not %q", PushFormatBinary, PushFormatString, m.SecretPushFormat)})
	}
	return m, append(probs, pushTagsProblems(m.Tags)...)
}

// ParameterStorePush is ESO's Parameter Store PushSecretMetadataSpec.
type ParameterStorePush struct {
	SecretType  string
	KMSKeyID    string
	Tier        ParameterTier
	Tags        map[string]string
	Description string
	// EncodeAsDecoded shapes the whole-Secret JSON, which is built before
	// the provider: refused.
	EncodeAsDecoded *bool
}

// ParameterTier is the metadata's tier: its type, and policies (raw JSON,
// sent as they are).
type ParameterTier struct {
	Type     string
	Policies json.RawMessage
}

// Parameter Store's push defaults, as ESO's: a String parameter in the
// Standard tier.
const (
	ParameterType     = "String"
	ParameterTierName = "Standard"
	parameterSecure   = "SecureString"
)

var (
	parameterTypes = []string{"String", "StringList", parameterSecure}
	parameterTiers = []string{"Standard", "Advanced", "Intelligent-Tiering"}
)

// DecodeParameterStorePush decodes a Parameter Store push's metadata (type
// and tier default to ESO's; the provider sets the key) and returns every
// problem of it.
func DecodeParameterStorePush(raw []byte) (ParameterStorePush, []MetaProblem) {
	var m ParameterStorePush
	var tier json.RawMessage
	probs := decodePushMeta(raw, ParameterStore, func() map[string]any {
		return map[string]any{"secretType": &m.SecretType, "kmsKeyID": &m.KMSKeyID, "tier": &tier, "tags": &m.Tags,
			"description": &m.Description, "encodeAsDecoded": &m.EncodeAsDecoded}
	})
	if tier != nil {
		probs = append(probs, decodeKeys(tier, "spec.tier", ParameterStore, map[string]any{"type": &m.Tier.Type, "policies": &m.Tier.Policies})...)
	}
	if m.EncodeAsDecoded != nil {
		probs = append(probs, MetaProblem{"spec.encodeAsDecoded", "is not supported: a whole-Secret push is always written as secretsync builds it (keys to string values)"})
	}
	if m.SecretType == "" {
		m.SecretType = ParameterType
	} else if !slices.Contains(parameterTypes, m.SecretType) {
		probs = append(probs, MetaProblem{"spec.secretType", fmt.Sprintf("must be one of %v, not %q", parameterTypes, m.SecretType)})
	}
	if m.Tier.Type == "" {
		m.Tier.Type = ParameterTierName
	} else if !slices.Contains(parameterTiers, m.Tier.Type) {
		probs = append(probs, MetaProblem{"spec.tier.type", fmt.Sprintf("must be one of %v, not %q", parameterTiers, m.Tier.Type)})
	}
	if m.Tier.Policies != nil && m.Tier.Type != "Advanced" {
		probs = append(probs, MetaProblem{"spec.tier.policies", "needs tier.type Advanced (Parameter Store takes policies only on advanced parameters)"})
	}
	if m.KMSKeyID != "" && m.SecretType != parameterSecure {
		probs = append(probs, MetaProblem{"spec.kmsKeyID", "needs secretType SecureString: only a SecureString is encrypted"})
	}
	return m, append(probs, pushTagsProblems(m.Tags)...)
}

// Secure reports a parameter pushed as a SecureString (encrypted, with a key).
func (m ParameterStorePush) Secure() bool { return m.SecretType == parameterSecure }

// pushTagsProblems refuses the managed-by tag in metadata, as ESO does: it
// is the push's own mark, set on every secret a push creates.
func pushTagsProblems(tags map[string]string) []MetaProblem {
	if _, ok := tags[ManagedByTag]; ok {
		return []MetaProblem{{"spec.tags", fmt.Sprintf("cannot set %s: every pushed secret carries %s=%s", ManagedByTag, ManagedByTag, ManagedByValue)}}
	}
	return nil
}
