package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Generator kinds secretsync runs (generators.external-secrets.io/v1alpha1).
const (
	KindPassword              = "Password"
	KindUUID                  = "UUID"
	KindSSHKey                = "SSHKey"
	KindECRAuthorizationToken = "ECRAuthorizationToken"
	KindSTSSessionToken       = "STSSessionToken"
)

// IsToken reports the generator kinds that make short-lived credentials
// (ECR and STS tokens): made again before they expire, and harmless to make
// again at any time, unlike a password.
func IsToken(kind string) bool {
	return kind == KindECRAuthorizationToken || kind == KindSTSSessionToken
}

// generatorSpecs are the spec types of the generator kinds secretsync runs,
// for strict decoding.
var generatorSpecs = map[string]func() any{
	KindPassword:              func() any { return &PasswordSpec{} },
	KindUUID:                  func() any { return &struct{}{} },
	KindSSHKey:                func() any { return &SSHKeySpec{} },
	KindECRAuthorizationToken: func() any { return &ECRAuthorizationTokenSpec{} },
	KindSTSSessionToken:       func() any { return &STSSessionTokenSpec{} },
}

// Generator is a generators.external-secrets.io object an ExternalSecret
// takes values from (dataFrom[].sourceRef.generatorRef). Its values are in
// neither Git nor AWS: they live in the Secret they were written to.
type Generator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              json.RawMessage `json:"spec,omitempty"`
	Source            string          `json:"-"`
}

// GeneratorRef names a generator in the ExternalSecret's namespace.
type GeneratorRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

type PasswordSpec struct {
	Length           int      `json:"length,omitempty"`
	Digits           *int     `json:"digits,omitempty"`
	Symbols          *int     `json:"symbols,omitempty"`
	SymbolCharacters *string  `json:"symbolCharacters,omitempty"`
	NoUpper          bool     `json:"noUpper,omitempty"`
	AllowRepeat      bool     `json:"allowRepeat,omitempty"`
	SecretKeys       []string `json:"secretKeys,omitempty"`
	Encoding         *string  `json:"encoding,omitempty"`
}

type SSHKeySpec struct {
	KeyType string `json:"keyType,omitempty"`
	KeySize *int   `json:"keySize,omitempty"`
	Comment string `json:"comment,omitempty"`
}

type ECRAuthorizationTokenSpec struct {
	Region string  `json:"region"`
	Auth   AWSAuth `json:"auth,omitzero"`
	Role   string  `json:"role,omitempty"`
	Scope  string  `json:"scope,omitempty"`
}

type STSSessionTokenSpec struct {
	Region            string                `json:"region"`
	Auth              AWSAuth               `json:"auth,omitzero"`
	Role              string                `json:"role,omitempty"`
	RequestParameters *STSRequestParameters `json:"requestParameters,omitempty"`
}

type STSRequestParameters struct {
	SessionDuration *int32  `json:"sessionDuration,omitempty"`
	SerialNumber    *string `json:"serialNumber,omitempty"`
	TokenCode       *string `json:"tokenCode,omitempty"`
}

// DecodeSpec decodes the generator's spec into its kind's type.
func (g *Generator) DecodeSpec() (any, error) {
	mk, ok := generatorSpecs[g.Kind]
	if !ok {
		return nil, fmt.Errorf("generator kind %s is not supported", g.Kind)
	}
	v := mk()
	if len(g.Spec) == 0 {
		return v, nil
	}
	return v, strict(g.Spec, v)
}

// OutputKeys are the keys a generator of this spec writes, as ESO's.
func (g *Generator) OutputKeys() []string {
	switch g.Kind {
	case KindPassword:
		var s PasswordSpec
		_ = json.Unmarshal(g.Spec, &s)
		if len(s.SecretKeys) > 0 {
			return s.SecretKeys
		}
		return []string{"password"}
	case KindUUID:
		return []string{"uuid"}
	case KindSSHKey:
		return []string{"privateKey", "publicKey"}
	case KindECRAuthorizationToken:
		return []string{"username", "password", "proxy_endpoint", "expires_at"}
	case KindSTSSessionToken:
		return []string{"access_key_id", "secret_access_key", "session_token", "expiration"}
	}
	return nil
}

func validateGenerator(g *Generator) (string, error) {
	if g.Name == "" {
		return "metadata.name", errors.New("required")
	}
	spec, err := g.DecodeSpec()
	if err != nil {
		return "spec", err
	}
	switch s := spec.(type) {
	case *PasswordSpec:
		seen := map[string]bool{}
		for i, k := range s.SecretKeys {
			if k == "" || seen[k] {
				return fmt.Sprintf("spec.secretKeys[%d]", i), errors.New("secretKeys must be non-empty and unique")
			}
			seen[k] = true
		}
		if s.Encoding != nil {
			switch *s.Encoding {
			case "raw", "base64", "base64url", "base32", "hex":
			default:
				return "spec.encoding", fmt.Errorf("must be raw, base64, base64url, base32 or hex, not %q", *s.Encoding)
			}
		}
	case *SSHKeySpec:
		switch s.KeyType {
		case "", "rsa", "ed25519", "ecdsa":
		default:
			return "spec.keyType", fmt.Errorf("must be rsa, ed25519 or ecdsa, not %q", s.KeyType)
		}
	case *ECRAuthorizationTokenSpec:
		if s.Region == "" {
			return "spec.region", errors.New("required")
		}
		if s.Scope != "" && s.Scope != "private" {
			return "spec.scope", notYet("scope " + s.Scope + " (ECR Public)")
		}
		return validateGeneratorAuth(g, s.Auth)
	case *STSSessionTokenSpec:
		if s.Region == "" {
			return "spec.region", errors.New("required")
		}
		return validateGeneratorAuth(g, s.Auth)
	}
	return "", nil
}

// validateGeneratorAuth checks an AWS generator's auth: one method, and
// only Secrets and service accounts of the generator's own namespace.
func validateGeneratorAuth(g *Generator, a AWSAuth) (string, error) {
	if a.SecretRef != nil && a.JWT != nil {
		return "spec.auth", errors.New("secretRef and jwt are exclusive")
	}
	return authScope(AskerOfGenerator(g), a, "spec.auth")
}

// parseGeneratorRef reads a sourceRef.generatorRef.
func parseGeneratorRef(raw json.RawMessage) (GeneratorRef, error) {
	var r GeneratorRef
	if err := strict(raw, &r); err != nil {
		return r, err
	}
	if r.Name == "" || r.Kind == "" {
		return r, errors.New("kind and name are required")
	}
	if r.APIVersion != "" && !strings.HasPrefix(r.APIVersion, GeneratorsGroup+"/") {
		return r, fmt.Errorf("apiVersion must be in %s, not %q", GeneratorsGroup, r.APIVersion)
	}
	if _, ok := generatorSpecs[r.Kind]; !ok {
		return r, notYet("generator kind " + r.Kind)
	}
	return r, nil
}

// GeneratorRef is a dataFrom entry's generator, when it names one.
func (d DataFrom) GeneratorRef() (GeneratorRef, bool) {
	if d.SourceRef == nil || len(d.SourceRef.Generator) == 0 {
		return GeneratorRef{}, false
	}
	r, err := parseGeneratorRef(d.SourceRef.Generator)
	return r, err == nil
}
