package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
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
	DataTo          []PushSecretDataTo   `json:"dataTo,omitempty"`
	Template        *Template            `json:"template,omitempty"`
}

// PushSecretDataTo pushes every key of the source that match selects,
// renamed by rewrite, to the one store storeRef names: without remoteKey
// each key is its own remote secret (the key is its name); with remoteKey
// all of them are one remote secret, a JSON object of key to value (ESO
// 2.9.0's per-key and bundle modes).
type PushSecretDataTo struct {
	StoreRef           *PushSecretStoreRef    `json:"storeRef,omitempty"`
	RemoteKey          string                 `json:"remoteKey,omitempty"`
	Match              *PushSecretDataToMatch `json:"match,omitempty"`
	Rewrite            []Rewrite              `json:"rewrite,omitempty"`
	Metadata           json.RawMessage        `json:"metadata,omitempty"`
	ConversionStrategy string                 `json:"conversionStrategy,omitempty"`
}

type PushSecretDataToMatch struct {
	RegExp string `json:"regexp,omitempty"`
}

type PushSecretStoreRef struct {
	Name          string                `json:"name,omitempty"`
	Kind          string                `json:"kind,omitempty"`
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
}

type PushSecretSelector struct {
	Secret       *PushSecretSecret `json:"secret,omitempty"`
	GeneratorRef json.RawMessage   `json:"generatorRef,omitempty"`
}

type PushSecretSecret struct {
	Name     string                `json:"name,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
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

	// PushReverseUnicode turns each _U<hex>_ of a source key back into its
	// rune (ESO's ReverseKeys): the inverse of ExternalSecret's Unicode.
	PushConvertNone    = "None"
	PushReverseUnicode = "ReverseUnicode"
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

// Generator is the generator the source comes from, when generatorRef
// names one (of the PushSecret's own namespace, as ESO's).
func (s PushSecretSelector) Generator() (GeneratorRef, error) {
	return parseGeneratorRef(s.GeneratorRef)
}

// MaxRemoteKeyBytes bounds a remote key a PushSecret writes, as dataTo's
// rewrites make it: Secrets Manager's names are at most 512 characters.
const MaxRemoteKeyBytes = 512

// RemoteKeyProblem refuses a remote key written as an ARN: a store applies
// no prefix to an ARN, and another PushSecret's name for the same secret
// differs from it, so the shared-remote check could not see the two meet.
// It refuses a control character too (controlProblem).
func RemoteKeyProblem(key string) error {
	if strings.HasPrefix(key, "arn:") {
		return errors.New("is an ARN: a push remote key is a name, under the store's prefix")
	}
	return controlProblem(key)
}

// controlProblem refuses a remote name holding a control character: no
// AWS name does, and a carriage return or newline would end a line of
// plan's Markdown comment, letting a pull request forge or hide the rest.
func controlProblem(name string) error {
	if strings.ContainsFunc(name, unicode.IsControl) {
		return errors.New("holds a control character, which no AWS name does")
	}
	return nil
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
		f, err := validatePushStoreRef(ref)
		check(fmt.Sprintf("spec.secretStoreRefs[%d]", i)+f, err)
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
	f, err := validatePushSelector(s.Selector)
	check("spec.selector"+f, err)
	if s.Template != nil {
		for _, fe := range validateTemplate(s.Template) {
			errs = append(errs, fieldError{"spec.template" + fe.field, fe.err})
		}
	}
	for i, d := range s.DataTo {
		for _, fe := range validateDataTo(d, s.SecretStoreRefs) {
			errs = append(errs, fieldError{fmt.Sprintf("spec.dataTo[%d]", i) + fe.field, fe.err})
		}
	}
	if len(s.Data) == 0 && len(s.DataTo) == 0 {
		check("spec.data", errors.New("required: secretsync pushes only what data or dataTo lists"))
	}
	return append(errs, validatePushData(s)...)
}

// validatePushData checks the data entries, and refuses two writes Git
// alone says overwrite each other in every store (ESO writes each in turn:
// a new version at every pass, a value that flips under its readers): two
// data entries of one remote key and property, or of one remote key with
// either the whole secret, or a data entry of a dataTo bundle's remote key
// (a bundle is a whole secret; data goes to every store the bundle does).
func validatePushData(s PushSecretSpec) []fieldError {
	var errs []fieldError
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, fieldError{field, err})
		}
	}
	first, whole, props := map[string]string{}, map[string]string{}, map[string]string{}
	nested := map[string]string{} // by remote key and property: the first entry of a property nested in it
	for i, d := range s.DataTo {
		if d.RemoteKey != "" && whole[d.RemoteKey] == "" {
			whole[d.RemoteKey] = fmt.Sprintf("spec.dataTo[%d]", i)
			first[d.RemoteKey] = whole[d.RemoteKey]
		}
	}
	for i, d := range s.Data {
		f := fmt.Sprintf("spec.data[%d]", i)
		check(f+".metadata", validPushMetadata(d.Metadata))
		check(f+".conversionStrategy", validPushConversion(d.ConversionStrategy))
		r := d.Match.RemoteRef
		if err := remoteKeyError(r.RemoteKey, true); err != nil {
			check(f+".match.remoteRef.remoteKey", err)
			continue
		}
		check(f+".match.remoteRef.property", controlProblem(r.Property))
		id := r.RemoteKey + "\x00" + r.Property
		switch {
		case props[id] != "":
			check(f+".match.remoteRef", fmt.Errorf("pushes to the same remote key and property as %s", props[id]))
		case r.Property == "" && first[r.RemoteKey] != "":
			check(f+".match.remoteRef", fmt.Errorf("pushes the whole of remote key %s, which %s also pushes to: they would overwrite each other at every pass", r.RemoteKey, first[r.RemoteKey]))
		case whole[r.RemoteKey] != "":
			check(f+".match.remoteRef", fmt.Errorf("pushes a property of remote key %s, which %s pushes whole: they would overwrite each other at every pass", r.RemoteKey, whole[r.RemoteKey]))
		case nestedWrite(props, nested, r) != "":
			check(f+".match.remoteRef", fmt.Errorf("pushes property %s of remote key %s, which holds or is held by the property %s pushes (dots nest): they would overwrite each other at every pass", r.Property, r.RemoteKey, nestedWrite(props, nested, r)))
		}
		if first[r.RemoteKey] == "" {
			first[r.RemoteKey] = f
		}
		if r.Property == "" && whole[r.RemoteKey] == "" {
			whole[r.RemoteKey] = f
		}
		if props[id] == "" {
			props[id] = f
		}
		for j := range len(r.Property) {
			if r.Property[j] == '.' && nested[r.RemoteKey+"\x00"+r.Property[:j]] == "" {
				nested[r.RemoteKey+"\x00"+r.Property[:j]] = f
			}
		}
	}
	return errs
}

// nestedWrite is the entry that writes a property r's is nested in, or
// one nested in r's ("db" holds "db.user": a write of either replaces the
// other's), from props and nested (by remote key and property), "" when
// none does.
func nestedWrite(props, nested map[string]string, r PushSecretRemoteRef) string {
	if r.Property == "" {
		return ""
	}
	if f := nested[r.RemoteKey+"\x00"+r.Property]; f != "" {
		return f
	}
	for j := range len(r.Property) {
		if f := props[r.RemoteKey+"\x00"+r.Property[:j]]; r.Property[j] == '.' && f != "" {
			return f
		}
	}
	return ""
}

// remoteKeyError refuses a remote key as written: missing (when
// required), with spaces around it, or an ARN.
func remoteKeyError(key string, required bool) error {
	switch {
	case key == "" && required:
		return errors.New("required")
	case strings.TrimSpace(key) != key:
		return errors.New("has leading or trailing spaces")
	}
	return RemoteKeyProblem(key)
}

// validatePushStoreRef checks one store reference: a name or a label
// selector, of a store kind.
func validatePushStoreRef(ref PushSecretStoreRef) (string, error) {
	switch {
	case ref.LabelSelector != nil && ref.Name != "":
		return "", errors.New("name and labelSelector are exclusive")
	case ref.LabelSelector != nil:
		if _, err := metav1.LabelSelectorAsSelector(ref.LabelSelector); err != nil {
			return ".labelSelector", err
		}
	case ref.Name == "":
		return ".name", errors.New("required (or a labelSelector)")
	}
	if k := ref.StoreKind(); k != KindSecretStore && k != KindClusterSecretStore {
		return ".kind", fmt.Errorf("%q is not a store kind; use SecretStore or ClusterSecretStore", ref.Kind)
	}
	return "", nil
}

// validatePushSelector checks the source: exactly one of a Secret by name,
// Secrets by label, a generator.
func validatePushSelector(sel PushSecretSelector) (string, error) {
	switch {
	case len(sel.GeneratorRef) > 0 && sel.Secret != nil:
		return "", errors.New("secret and generatorRef are exclusive")
	case len(sel.GeneratorRef) > 0:
		if _, err := sel.Generator(); err != nil {
			return ".generatorRef", err
		}
	case sel.Secret == nil:
		return ".secret", errors.New("required: the Secret to push")
	case sel.Secret.Selector != nil && sel.Secret.Name != "":
		return ".secret", errors.New("name and selector are exclusive")
	case sel.Secret.Selector != nil:
		s, err := metav1.LabelSelectorAsSelector(sel.Secret.Selector)
		if err != nil {
			return ".secret.selector", err
		}
		if !selectsByLabel(s) {
			// Every Secret of the namespace (or every one without some
			// label), tokens of other controllers included: name what is
			// pushed.
			return ".secret.selector", errors.New("selects every Secret of the namespace: give at least one label a Secret must have")
		}
	case sel.Secret.Name == "":
		return ".secret.name", errors.New("required")
	}
	return "", nil
}

// selectsByLabel reports whether s asks for a label a Secret must carry:
// a selector of only NotIn, != and DoesNotExist matches every unlabelled
// Secret, as an empty one does.
func selectsByLabel(s labels.Selector) bool {
	reqs, _ := s.Requirements()
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In, selection.Exists, selection.GreaterThan, selection.LessThan:
			return true
		}
	}
	return false
}

// validateDataTo checks one dataTo entry, every problem of it: a store
// among secretStoreRefs (as ESO), a valid regexp, rewrites without merge,
// a remote key, metadata, a conversion strategy.
func validateDataTo(d PushSecretDataTo, refs []PushSecretStoreRef) []fieldError {
	var errs []fieldError
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, fieldError{field, err})
		}
	}
	check(dataToStoreRefError(d.StoreRef, refs))
	if d.Match != nil {
		if _, err := regexp.Compile(d.Match.RegExp); err != nil {
			check(".match.regexp", fmt.Errorf("invalid regexp: %w", err))
		}
	}
	for j, rw := range d.Rewrite {
		check(dataToRewriteError(j, rw))
	}
	check(".remoteKey", remoteKeyError(d.RemoteKey, false))
	check(".metadata", validPushMetadata(d.Metadata))
	check(".conversionStrategy", validPushConversion(d.ConversionStrategy))
	return errs
}

// dataToStoreRefError checks a dataTo entry's store: by name, one listed
// in secretStoreRefs, or by label selector, of a store kind.
func dataToStoreRefError(ref *PushSecretStoreRef, refs []PushSecretStoreRef) (string, error) {
	switch {
	case ref == nil || ref.Name == "" && ref.LabelSelector == nil:
		return ".storeRef", errors.New("required: the store of spec.secretStoreRefs this entry pushes to, by name or labelSelector")
	case ref.Name != "" && ref.LabelSelector != nil:
		return ".storeRef", errors.New("name and labelSelector are exclusive")
	case ref.StoreKind() != KindSecretStore && ref.StoreKind() != KindClusterSecretStore:
		return ".storeRef.kind", fmt.Errorf("%q is not a store kind; use SecretStore or ClusterSecretStore", ref.Kind)
	case ref.Name != "" && !storeListed(*ref, refs):
		return ".storeRef.name", fmt.Errorf("%s %q is not in spec.secretStoreRefs", ref.StoreKind(), ref.Name)
	case ref.LabelSelector != nil:
		if _, err := metav1.LabelSelectorAsSelector(ref.LabelSelector); err != nil {
			return ".storeRef.labelSelector", err
		}
	}
	return "", nil
}

// dataToRewriteError checks rewrite j of a dataTo entry: ESO's push
// rewrites are regexp and transform, and a rewritten name must fit a
// remote key.
func dataToRewriteError(j int, rw Rewrite) (string, error) {
	f := fmt.Sprintf(".rewrite[%d]", j)
	if rw.Merge != nil {
		return f + ".merge", errors.New("is not a PushSecret rewrite (ESO's are regexp and transform)")
	}
	if field, err := ValidateRewrite(rw); err != nil {
		return f + field, err
	}
	if rw.Regexp != nil && len(rw.Regexp.Target) > MaxRemoteKeyBytes {
		return f + ".regexp.target", fmt.Errorf("is longer than a remote key may be (%d bytes)", MaxRemoteKeyBytes)
	}
	return "", nil
}

// storeListed reports whether a dataTo storeRef names a store of refs, or
// one a label selector there may select.
func storeListed(ref PushSecretStoreRef, refs []PushSecretStoreRef) bool {
	for _, r := range refs {
		if r.StoreKind() == ref.StoreKind() && (r.Name == ref.Name || r.LabelSelector != nil) {
			return true
		}
	}
	return false
}

// validPushMetadata accepts a JSON object: what it means is the store's
// provider's to decode and refuse by name (providers.Push.Metadata).
func validPushMetadata(raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return errors.New("must be an object (the store's provider reads its fields)")
	}
	return nil
}

func validPushConversion(c string) error {
	switch c {
	case "", PushConvertNone, PushReverseUnicode:
		return nil
	}
	return fmt.Errorf("%q is not valid; use None or ReverseUnicode", c)
}
