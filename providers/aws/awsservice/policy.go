package awsservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

// PolicySource is ESO's Secrets Manager resourcePolicy metadata: the
// policy text is the key Key of the ConfigMap or Secret Name (Kind) in the
// PushSecret's own namespace (ESO's policySourceRef names no namespace, and
// secretsync takes none). blockPublicPolicy is always sent true: false is
// refused, so that no repo writer can make a pushed secret readable by
// anyone (ESO leaves it to AWS's default, which allows that).
type PolicySource struct {
	Kind, Name, Key string
}

func (s PolicySource) String() string { return s.Kind + " " + s.Name + " key " + s.Key }

// The kinds a policySourceRef may name.
const (
	PolicyKindConfigMap = "ConfigMap"
	PolicyKindSecret    = "Secret"
)

// MaxPolicyLen is AWS's bound on a resource policy's length, in characters.
const MaxPolicyLen = 20480

// decodeResourcePolicy decodes spec.resourcePolicy and returns every
// problem of it.
func decodeResourcePolicy(raw json.RawMessage) (*PolicySource, []MetaProblem) {
	const at = "spec.resourcePolicy"
	var block *bool
	var ref json.RawMessage
	probs := decodeKeys(raw, at, SecretsManager, map[string]any{"blockPublicPolicy": &block, "policySourceRef": &ref})
	if block != nil && !*block {
		probs = append(probs, MetaProblem{at + ".blockPublicPolicy", "cannot be false: secretsync always asks AWS to refuse a policy that grants public access"})
	}
	if ref == nil {
		return nil, append(probs, MetaProblem{at + ".policySourceRef", "required: the ConfigMap or Secret of the PushSecret's namespace, and its key, holding the policy"})
	}
	var p PolicySource
	var ns json.RawMessage
	probs = append(probs, decodeKeys(ref, at+".policySourceRef", SecretsManager,
		map[string]any{"kind": &p.Kind, "name": &p.Name, "key": &p.Key, "namespace": &ns})...)
	if ns != nil {
		probs = append(probs, MetaProblem{at + ".policySourceRef.namespace", "is not a key of ESO's policySourceRef: the policy is read in the PushSecret's own namespace only"})
	}
	src := p
	if src.Kind != PolicyKindConfigMap && src.Kind != PolicyKindSecret {
		probs = append(probs, MetaProblem{at + ".policySourceRef.kind", fmt.Sprintf("must be %s or %s", PolicyKindConfigMap, PolicyKindSecret)})
	}
	if len(validation.IsDNS1123Subdomain(src.Name)) > 0 {
		probs = append(probs, MetaProblem{at + ".policySourceRef.name", "must be the name of a ConfigMap or Secret of the PushSecret's namespace (lowercase letters, digits, '-', '.')"})
	}
	if len(validation.IsConfigMapKey(src.Key)) > 0 {
		probs = append(probs, MetaProblem{at + ".policySourceRef.key", "must be a key of a ConfigMap or Secret (letters, digits, '-', '_', '.')"})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return &p, nil
}

// PolicySource is the ConfigMap or Secret a push's metadata (raw) through
// a store of s reads its resource policy from, or nil: none, another
// service, or metadata with problems (refused before any read).
func (s Service) PolicySource(raw []byte) *PolicySource {
	if s != SecretsManager {
		return nil
	}
	m, probs := DecodeSecretsManagerPush(raw)
	if len(probs) > 0 || m.ResourcePolicy == nil {
		return nil
	}
	return m.ResourcePolicy
}

// CheckPolicy is why a resource policy's text cannot be sent, or nil: at
// most MaxPolicyLen characters, a JSON object; empty text removes the
// policy (as ESO's empty policy does). The error never quotes the text.
func CheckPolicy(text []byte) error {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil
	}
	if n := utf8.RuneCount(text); n > MaxPolicyLen {
		return fmt.Errorf("is %d characters long; AWS takes at most %d", n, MaxPolicyLen)
	}
	// json.Valid first: a decoder stops at the first value, and dec.More
	// says nothing of a stray '}' or ']' after it.
	var obj map[string]json.RawMessage
	if !json.Valid(text) || json.Unmarshal(text, &obj) != nil || obj == nil {
		return errors.New("is not a JSON object")
	}
	return nil
}

// SamePolicy reports whether two policy texts are the same JSON document
// (AWS may return a policy in another form than it was put in); empty
// text is no policy.
func SamePolicy(a, b []byte) bool {
	na, oka := normalPolicy(a)
	nb, okb := normalPolicy(b)
	return oka && okb && na == nb
}

// normalPolicy is text re-encoded with its object keys sorted ("" for
// empty text).
func normalPolicy(text []byte) (string, bool) {
	if len(bytes.TrimSpace(text)) == 0 {
		return "", true
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if !json.Valid(text) || dec.Decode(&doc) != nil {
		return "", false
	}
	out, err := json.Marshal(doc)
	return strings.TrimSpace(string(out)), err == nil
}
