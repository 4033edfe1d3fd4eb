package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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

// The character sets of ESO's password generator.
const (
	lowerLetters  = "abcdefghijklmnopqrstuvwxyz"
	upperLetters  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars    = "0123456789"
	defaultSymbol = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"
)

// PasswordPlan is what a Password spec asks for, with ESO's defaults:
// how many characters of each set.
type PasswordPlan struct {
	Letters, Digits, Symbols    string
	NLetters, NDigits, NSymbols int
}

// Plan works out s with ESO's defaults (24 characters, 25% digits, 25%
// symbols) and refuses what cannot be made: a length over
// MaxPasswordLength, counts that do not add up, and, without allowRepeat,
// too few distinct characters (duplicates in symbolCharacters, or sets
// that share characters, count once). field names the spec field at fault.
func (s *PasswordSpec) Plan() (p PasswordPlan, field string, err error) {
	length := 24
	if s.Length > 0 {
		length = s.Length
	}
	if s.Length < 0 || length > MaxPasswordLength {
		return p, "spec.length", fmt.Errorf("must be between 1 and %d", MaxPasswordLength)
	}
	p.NDigits, p.NSymbols = int(float32(length)*0.25), int(float32(length)*0.25)
	if s.Digits != nil {
		p.NDigits = *s.Digits
	}
	if s.Symbols != nil {
		p.NSymbols = *s.Symbols
	}
	p.Digits, p.Symbols, p.Letters = digitChars, defaultSymbol, lowerLetters
	if s.SymbolCharacters != nil {
		p.Symbols = *s.SymbolCharacters
	}
	if !s.NoUpper {
		p.Letters += upperLetters
	}
	switch {
	case p.NDigits < 0:
		return p, "spec.digits", errors.New("must not be negative")
	case p.NSymbols < 0:
		return p, "spec.symbols", errors.New("must not be negative")
	// Each against what is left, never their sum: two huge counts would
	// wrap round to a small one.
	case p.NDigits > length || p.NSymbols > length-p.NDigits:
		return p, "spec.length", fmt.Errorf("digits (%d) and symbols (%d) exceed the length (%d)", p.NDigits, p.NSymbols, length)
	case utf8.RuneCountInString(p.Symbols) > MaxSymbolCharacters:
		return p, "spec.symbolCharacters", fmt.Errorf("at most %d characters", MaxSymbolCharacters)
	case p.NSymbols > 0 && p.Symbols == "":
		return p, "spec.symbolCharacters", errors.New("symbols asked for, and symbolCharacters is empty")
	}
	p.NLetters = length - p.NDigits - p.NSymbols
	if s.AllowRepeat {
		return p, "", nil
	}
	if !s.AllowRepeat && !p.Pool().Feasible() {
		return p, "spec.symbolCharacters", errors.New("without allowRepeat, the character sets hold too few distinct characters for this length (duplicates count once)")
	}
	return p, "", nil
}

// PasswordPool is what a password without repeats has left to draw from:
// the unused characters, counted by which of the three sets (letters,
// digits, symbols) hold them, and how many each set still needs.
type PasswordPool struct {
	owner map[rune]uint8
	free  [8]int
	need  [3]int
}

// Pool is p's characters, none used yet.
func (p PasswordPlan) Pool() *PasswordPool {
	q := &PasswordPool{owner: map[rune]uint8{}, need: [3]int{p.NLetters, p.NDigits, p.NSymbols}}
	for i, set := range []string{p.Letters, p.Digits, p.Symbols} {
		for _, c := range set {
			q.owner[c] |= 1 << i
		}
	}
	for _, m := range q.owner {
		q.free[m]++
	}
	return q
}

// Feasible reports whether every group of sets holds as many unused
// characters as the group still needs (Hall's condition): then the
// password can be finished whatever was drawn so far.
func (q *PasswordPool) Feasible() bool {
	for m := 1; m < 8; m++ {
		have, want := 0, 0
		for k := 1; k < 8; k++ {
			if k&m != 0 {
				have += q.free[k]
			}
		}
		for i := range 3 {
			if m&(1<<i) != 0 {
				want += q.need[i]
			}
		}
		if want > have {
			return false
		}
	}
	return true
}

// Take uses c for set (0 letters, 1 digits, 2 symbols) when what is left
// stays feasible, and reports whether it did.
func (q *PasswordPool) Take(set int, c rune) bool {
	m := q.owner[c]
	if m&(1<<set) == 0 || q.free[m] == 0 {
		return false
	}
	q.free[m]--
	q.need[set]--
	if q.Feasible() {
		delete(q.owner, c)
		return true
	}
	q.free[m]++
	q.need[set]++
	return false
}

// Check refuses an SSHKey spec that cannot be made, or whose RSA key
// would take unbounded time: keySize as ESO accepts it.
func (s *SSHKeySpec) Check() (field string, err error) {
	switch s.KeyType {
	case "", "rsa":
		if s.KeySize != nil && (*s.KeySize < MinRSAKeySize || *s.KeySize > MaxRSAKeySize) {
			return "spec.keySize", fmt.Errorf("an rsa key size must be between %d and %d", MinRSAKeySize, MaxRSAKeySize)
		}
	case "ecdsa":
		if s.KeySize != nil && *s.KeySize != 256 && *s.KeySize != 384 && *s.KeySize != 521 {
			return "spec.keySize", errors.New("an ecdsa key size must be 256, 384 or 521")
		}
	case "ed25519":
	default:
		return "spec.keyType", fmt.Errorf("must be rsa, ed25519 or ecdsa, not %q", s.KeyType)
	}
	return "", nil
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
		if _, field, err := s.Plan(); err != nil {
			return field, err
		}
		if len(s.SecretKeys) > MaxGeneratorKeys {
			return "spec.secretKeys", fmt.Errorf("at most %d keys", MaxGeneratorKeys)
		}
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
		if field, err := s.Check(); err != nil {
			return field, err
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
