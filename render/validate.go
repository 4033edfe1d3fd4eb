package render

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// errNotYet marks schema features secretsync accepts in the schema but does
// not implement yet; refusing them beats silently producing a different
// Secret than External Secrets Operator would.
var errNotYet = errors.New("is not supported yet")

func notYet(what string) error { return fmt.Errorf("%s %w", what, errNotYet) }

// fieldError is one problem of an object, at a field.
type fieldError struct {
	field string
	err   error
}

// validateExternalSecret returns every problem of es: one per data and
// dataFrom entry at most, and one per other part of the spec, so that a
// review shows them all at once.
func validateExternalSecret(es *ExternalSecret) []fieldError {
	s := es.Spec
	var errs []fieldError
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, fieldError{field, err})
		}
	}
	if es.Name == "" {
		check("metadata.name", errors.New("required"))
	}
	if len(s.Data) == 0 && len(s.DataFrom) == 0 {
		check("spec", errors.New("data or dataFrom is required"))
	}
	switch s.SecretStoreRef.Kind {
	case "", KindSecretStore, KindClusterSecretStore:
	default:
		check("spec.secretStoreRef.kind", fmt.Errorf("must be SecretStore or ClusterSecretStore, not %q", s.SecretStoreRef.Kind))
	}
	if s.Target.Manifest != nil {
		check(validateManifest(s.Target))
		if n := es.TargetName(); strings.HasPrefix(n, InventoryPrefix) {
			check("spec.target.name", fmt.Errorf("a ConfigMap named %s is refused: %s* are secretsync's inventories, the record of what it owns and when each ExternalSecret was refreshed", n, InventoryPrefix))
		}
	}
	if s.SyncWindows {
		check("spec.syncWindows", notYet("syncWindows"))
	}
	needStore := false
	keys := map[string]int{}
	for i, d := range s.Data {
		check(validateData(i, d, keys, s.Target.Template))
		needStore = needStore || d.SourceRef == nil
	}
	for i, d := range s.DataFrom {
		check(validateDataFrom(i, d))
		needStore = needStore || d.SourceRef == nil
	}
	if needStore && s.SecretStoreRef.Name == "" {
		check("spec.secretStoreRef.name", errors.New("required"))
	}
	check(validateTarget(s.Target))
	if s.Target.Template != nil {
		for _, fe := range validateTemplate(s.Target.Template) {
			check("spec.target.template"+fe.field, fe.err)
		}
	}
	switch s.RefreshPolicy {
	case "", "Periodic", "OnChange", "CreatedOnce":
	default:
		check("spec.refreshPolicy", fmt.Errorf("must be Periodic, OnChange or CreatedOnce, not %q", s.RefreshPolicy))
	}
	return errs
}

// validateData checks spec.data[i]; keys holds the secretKeys seen so far.
func validateData(i int, d Data, keys map[string]int, tpl *Template) (string, error) {
	f := fmt.Sprintf("spec.data[%d]", i)
	if d.SecretKey == "" {
		return f + ".secretKey", errors.New("required")
	}
	if j, dup := keys[d.SecretKey]; dup {
		return f + ".secretKey", fmt.Errorf("%q is also set by spec.data[%d]", d.SecretKey, j)
	}
	keys[d.SecretKey] = i
	if keysReachSecret(tpl) {
		if err := secretKeyError(d.SecretKey); err != nil {
			return f + ".secretKey", err
		}
	}
	if d.RemoteRef.Key == "" {
		return f + ".remoteRef.key", errors.New("required")
	}
	if field, err := validateRemoteRef(d.RemoteRef); err != nil {
		return f + ".remoteRef." + field, err
	}
	if storeField, err := validateSourceRef(d.SourceRef); err != nil {
		return f + ".sourceRef" + storeField, err
	}
	return "", nil
}

// validateClusterExternalSecret checks the ExternalSecret it makes (as if
// in a namespace it names, its fields under spec.externalSecretSpec) and
// its namespace selectors.
func validateClusterExternalSecret(c *ClusterExternalSecret) []fieldError {
	var errs []fieldError
	if c.Name == "" {
		errs = append(errs, fieldError{"metadata.name", errors.New("required")})
	}
	if len(c.Spec.Namespaces) == 0 && len(c.selectors()) == 0 {
		errs = append(errs, fieldError{"spec", errors.New("namespaces or namespaceSelectors is required: without them it chooses no namespace")})
	}
	for i, sel := range c.selectors() {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, fieldError{fmt.Sprintf("spec.namespaceSelectors[%d]", i), err})
		}
	}
	for _, fe := range validateExternalSecret(c.Expand("default")) {
		field := fe.field
		if rest, ok := strings.CutPrefix(field, "spec."); ok {
			field = "spec.externalSecretSpec." + rest
		} else if field == "spec" {
			field = "spec.externalSecretSpec"
		}
		errs = append(errs, fieldError{field, fe.err})
	}
	return errs
}

// validateDataFrom checks spec.dataFrom[i].
func validateDataFrom(i int, d DataFrom) (string, error) {
	f := fmt.Sprintf("spec.dataFrom[%d]", i)
	if d.SourceRef != nil && len(d.SourceRef.Generator) > 0 {
		switch {
		case d.SourceRef.StoreRef != nil:
			return f + ".sourceRef", errors.New("storeRef and generatorRef are exclusive")
		case d.Extract != nil || d.Find != nil:
			return f, errors.New("a generatorRef takes neither extract nor find")
		}
		if _, err := parseGeneratorRef(d.SourceRef.Generator); err != nil {
			return f + ".sourceRef.generatorRef", err
		}
		for j, rw := range d.Rewrite {
			if field, err := ValidateRewrite(rw); err != nil {
				return fmt.Sprintf("%s.rewrite[%d]%s", f, j, field), err
			}
			if rw.Merge != nil {
				return fmt.Sprintf("%s.rewrite[%d].merge", f, j), errors.New("is refused for a generator: its values are not JSON objects, so ESO's merge fails on every sync")
			}
		}
		return "", nil
	}
	switch {
	case d.Find != nil && d.Extract != nil:
		return f, errors.New("extract and find are exclusive")
	case d.Find != nil:
		if field, err := validateFind(d.Find); err != nil {
			return f + ".find" + field, err
		}
	case d.Extract == nil:
		return f, errors.New("one of extract or find is required")
	case d.Extract.Key == "":
		return f + ".extract.key", errors.New("required")
	default:
		if field, err := validateRemoteRef(*d.Extract); err != nil {
			return f + ".extract." + field, err
		}
	}
	for j, rw := range d.Rewrite {
		if field, err := ValidateRewrite(rw); err != nil {
			return fmt.Sprintf("%s.rewrite[%d]%s", f, j, field), err
		}
	}
	if storeField, err := validateSourceRef(d.SourceRef); err != nil {
		return f + ".sourceRef" + storeField, err
	}
	return "", nil
}

// validateManifest checks a target.manifest: only a v1 ConfigMap, written
// whole by its owner. Any other kind is refused, since a generic target
// writes whatever fields its template names into any object (ESO too keeps
// them behind --unsafe-allow-generic-targets).
func validateManifest(t Target) (string, error) {
	m := t.Manifest
	switch {
	case m.APIVersion == "":
		return "spec.target.manifest.apiVersion", errors.New("required")
	case m.Kind == "":
		return "spec.target.manifest.kind", errors.New("required")
	case m.APIVersion != "v1" || m.Kind != KindConfigMap:
		return "spec.target.manifest", fmt.Errorf("%s %s is refused: secretsync writes Secrets and v1 ConfigMaps only, since a generic target can write any field of any object", m.APIVersion, m.Kind)
	case t.CreationPolicy == "Merge" || t.CreationPolicy == "CreateOrMerge":
		return "spec.target.creationPolicy", fmt.Errorf("%s is refused for a ConfigMap target: secretsync merges only into Secrets", t.CreationPolicy)
	case t.Template != nil && t.Template.Type != "":
		return "spec.target.template.type", errors.New("is refused for a ConfigMap target: a ConfigMap has no type")
	case t.Template != nil && t.Template.MergePolicy == "Merge":
		return "spec.target.template.mergePolicy", errors.New("Merge is refused for a ConfigMap target: ESO writes only the template's keys into it")
	}
	return "", nil
}

// validateTarget checks the creation and deletion policies.
func validateTarget(t Target) (string, error) {
	switch t.CreationPolicy {
	case "", "Owner", "Orphan", "Merge", "None", "CreateOrMerge":
	default:
		return "spec.target.creationPolicy", fmt.Errorf("must be Owner, Orphan, Merge, None or CreateOrMerge, not %q", t.CreationPolicy)
	}
	switch t.DeletionPolicy {
	case "", "Retain", "Merge":
	case "Delete":
		if t.CreationPolicy != "" && t.CreationPolicy != "Owner" {
			return "spec.target.deletionPolicy", errors.New("Delete needs creationPolicy Owner: only a Secret secretsync owns may be deleted")
		}
	default:
		return "spec.target.deletionPolicy", fmt.Errorf("must be Retain, Delete or Merge, not %q", t.DeletionPolicy)
	}
	if t.DeletionPolicy == "Merge" && t.CreationPolicy == "None" {
		return "spec.target.deletionPolicy", errors.New("Merge cannot be combined with creationPolicy None")
	}
	return "", nil
}

func validateRemoteRef(r RemoteRef) (string, error) {
	switch r.MetadataPolicy {
	case "", "None", "Fetch":
	default:
		return "metadataPolicy", fmt.Errorf("must be None or Fetch, not %q", r.MetadataPolicy)
	}
	if field, err := validateStrategies(r.ConversionStrategy, r.DecodingStrategy); err != nil {
		return field, err
	}
	return validateNullBytePolicy(r.NullBytePolicy)
}

func validateNullBytePolicy(p string) (string, error) {
	switch p {
	case "", "Ignore", "Fail":
		return "", nil
	}
	return "nullBytePolicy", fmt.Errorf("must be Ignore or Fail, not %q", p)
}

func validateSourceRef(r *SourceRef) (string, error) {
	switch {
	case r == nil:
		return "", nil
	case len(r.Generator) > 0:
		return ".generatorRef", errors.New("a generator is read in dataFrom only (ESO does not implement it in data)")
	case r.StoreRef == nil || r.StoreRef.Name == "":
		return ".storeRef.name", errors.New("required")
	}
	switch r.StoreRef.Kind {
	case "", KindSecretStore, KindClusterSecretStore:
		return "", nil
	}
	return ".storeRef.kind", fmt.Errorf("must be SecretStore or ClusterSecretStore, not %q", r.StoreRef.Kind)
}

// validateRetrySettings refuses what ESO would turn into retries without
// end (maxRetries 0 or below), a retryInterval ESO cannot parse, and more
// work than the bounds allow.
func validateRetrySettings(r *RetrySettings) (string, error) {
	if m := r.MaxRetries; m != nil && (*m < 1 || *m > MaxRetryAttempts) {
		return "spec.retrySettings.maxRetries", fmt.Errorf("must be between 1 and %d, not %d: it is the number of attempts of each AWS call (ESO retries without end at 0 or below)", MaxRetryAttempts, *m)
	}
	if r.RetryInterval == nil {
		return "", nil
	}
	d, err := time.ParseDuration(*r.RetryInterval)
	if err != nil {
		return "spec.retrySettings.retryInterval", fmt.Errorf("is not a duration such as \"10s\": %w", err)
	}
	if d > MaxRetryInterval {
		return "spec.retrySettings.retryInterval", fmt.Errorf("must be at most %s, not %s: each retry of a call holds the pass", MaxRetryInterval, d)
	}
	return "", nil
}

func validateStore(st *SecretStore) (string, error) {
	if st.Name == "" {
		return "metadata.name", errors.New("required")
	}
	if r := st.Spec.RetrySettings; r != nil {
		if field, err := validateRetrySettings(r); err != nil {
			return field, err
		}
	}
	a := st.Spec.Provider.AWS
	switch {
	case st.Spec.Controller != "":
		return "spec.controller", errors.New("is refused: secretsync has no controller class, so it would serve a store meant for another controller")
	case bool(st.Spec.RefreshInterval):
		return "spec.refreshInterval", errors.New("is refused: it is how often ESO checks the store; secretsync checks every store at every pass")
	case a == nil:
		return "spec.provider", errors.New("provider.aws is required")
	case a.SecretsManager != nil && awsservice.Service(a.Service) != awsservice.SecretsManager:
		return "spec.provider.aws.secretsManager", fmt.Errorf("is refused with service %s: it sets how PushSecret deletes in Secrets Manager", a.Service)
	case a.SecretsManager != nil && a.SecretsManager.ForceDeleteWithoutRecovery && a.SecretsManager.RecoveryWindowInDays != 0:
		return "spec.provider.aws.secretsManager", errors.New("forceDeleteWithoutRecovery and recoveryWindowInDays are refused together: AWS takes one or the other")
	case a.SecretsManager != nil && a.SecretsManager.RecoveryWindowInDays != 0 && (a.SecretsManager.RecoveryWindowInDays < 7 || a.SecretsManager.RecoveryWindowInDays > 30):
		return "spec.provider.aws.secretsManager.recoveryWindowInDays", errors.New("must be from 7 to 30 days, as AWS requires")
	case awsservice.Check(a.Service) != nil:
		return "spec.provider.aws.service", awsservice.Check(a.Service)
	case a.SessionTagsPolicy != "" && a.SessionTagsPolicy != "None" && a.SessionTagsPolicy != "Simple" && a.SessionTagsPolicy != "Custom":
		return "spec.provider.aws.sessionTagsPolicy", fmt.Errorf("must be None, Simple or Custom, not %q", a.SessionTagsPolicy)
	case a.Role == "" && (a.ExternalID != "" || len(a.SessionTags) > 0 || a.TagsByPolicy() || len(a.TransitiveTagKeys) > 0):
		return "spec.provider.aws.role", errors.New("required when externalID, sessionTags, sessionTagsPolicy or transitiveTagKeys are set")
	case a.TagsByPolicy() && len(a.SessionTags) > 0:
		return "spec.provider.aws.sessionTags", fmt.Errorf("is refused with sessionTagsPolicy %s: ESO replaces these tags with the policy's, so put them in customSessionTags with sessionTagsPolicy Custom", a.SessionTagsPolicy)
	case len(a.CustomSessionTags) > 0 && a.SessionTagsPolicy != "Custom":
		return "spec.provider.aws.customSessionTags", errors.New("is refused without sessionTagsPolicy Custom: ESO uses them only then")
	case a.Auth.JWT != nil && a.Auth.SecretRef != nil:
		return "spec.provider.aws.auth", errors.New("secretRef and jwt are exclusive")
	case a.Auth.JWT != nil && (a.Auth.JWT.ServiceAccountRef == nil || a.Auth.JWT.ServiceAccountRef.Name == ""):
		return "spec.provider.aws.auth.jwt.serviceAccountRef.name", errors.New("required")
	case len(st.Spec.Conditions) > 0 && st.Kind != KindClusterSecretStore:
		return "spec.conditions", errors.New("only a ClusterSecretStore has conditions; a SecretStore serves its own namespace")
	}
	if field, err := validateCustomSessionTags(a.CustomSessionTags); err != nil {
		return field, err
	}
	if field, err := validateConditions(st.Spec.Conditions); err != nil {
		return field, err
	}
	if field, err := validateAuthSecretRef(a.Auth.SecretRef); err != nil {
		return field, err
	}
	return authScope(AskerOf(st), a.Auth, "spec.provider.aws.auth")
}

// validateCustomSessionTags refuses the tags ESO would drop or that
// sessionTagsPolicy sets itself.
func validateCustomSessionTags(tags map[string]string) (string, error) {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		f := "spec.provider.aws.customSessionTags." + k
		switch {
		case slices.Contains(reservedSessionTags, k):
			return f, errors.New("is refused: esoNamespace, esoStoreName and esoStoreKind are set by sessionTagsPolicy")
		case k == "":
			return "spec.provider.aws.customSessionTags", errors.New("an empty key is refused: ESO drops such a tag")
		case tags[k] == "":
			return f, errors.New("an empty value is refused: ESO drops such a tag")
		}
	}
	return "", nil
}

// validateConditions: each condition selects namespaces, by a valid
// selector or regexes.
func validateConditions(conds []StoreCondition) (string, error) {
	for i, c := range conds {
		f := fmt.Sprintf("spec.conditions[%d]", i)
		if c.NamespaceSelector == nil && len(c.Namespaces) == 0 && len(c.NamespaceRegexes) == 0 {
			return f, errors.New("one of namespaceSelector, namespaces or namespaceRegexes is required")
		}
		if c.NamespaceSelector != nil {
			if _, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector); err != nil {
				return f + ".namespaceSelector", err
			}
		}
		for j, re := range c.NamespaceRegexes {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Sprintf("%s.namespaceRegexes[%d]", f, j), err
			}
		}
	}
	return "", nil
}

// validateAuthSecretRef: each key selector of the static credentials names
// a Secret and a key.
func validateAuthSecretRef(r *AWSAuthSecretRef) (string, error) {
	if r == nil {
		return "", nil
	}
	sels := map[string]*SecretKeySelector{"accessKeyIDSecretRef": &r.AccessKeyID, "secretAccessKeySecretRef": &r.SecretAccessKey}
	if r.SessionToken != nil {
		sels["sessionTokenSecretRef"] = r.SessionToken
	}
	for name, sel := range sels {
		f := "spec.provider.aws.auth.secretRef." + name
		switch {
		case sel.Name == "":
			return f + ".name", errors.New("required")
		case sel.Key == "":
			return f + ".key", errors.New("required")
		}
	}
	return "", nil
}

func validateStrategies(conversion, decoding string) (string, error) {
	switch conversion {
	case "", "Default", "Unicode":
	default:
		return "conversionStrategy", fmt.Errorf("must be Default or Unicode, not %q", conversion)
	}
	if err := validateDecoding(decoding); err != nil {
		return "decodingStrategy", err
	}
	return "", nil
}

func validateDecoding(d string) error {
	switch d {
	case "", "None", "Base64", "Base64URL", "Auto":
		return nil
	}
	return fmt.Errorf("must be None, Base64, Base64URL or Auto, not %q", d)
}

func validateFind(f *Find) (string, error) {
	if f.Path == nil && f.Name == nil && len(f.Tags) == 0 {
		return "", errors.New("one of name, tags or path is required")
	}
	if f.Name != nil {
		if _, err := regexp.Compile(f.Name.RegExp); err != nil {
			return ".name.regexp", fmt.Errorf("invalid regexp: %w", err)
		}
	}
	if field, err := validateStrategies(f.ConversionStrategy, f.DecodingStrategy); err != nil {
		return "." + field, err
	}
	if field, err := validateNullBytePolicy(f.NullBytePolicy); err != nil {
		return "." + field, err
	}
	return "", nil
}

// ValidateRewrite checks that a rewrite has exactly one valid operation;
// the field is under the rewrite, empty for the rewrite itself.
func ValidateRewrite(rw Rewrite) (string, error) {
	n := 0
	for _, set := range []bool{rw.Merge != nil, rw.Regexp != nil, rw.Transform != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return "", errors.New("exactly one of merge, regexp and transform is required")
	case rw.Merge != nil:
		return validateMerge(*rw.Merge)
	case rw.Regexp != nil:
		if _, err := regexp.Compile(rw.Regexp.Source); err != nil {
			return ".regexp.source", err
		}
	default:
		if _, err := ParseRewrite(rw.Transform.Template); err != nil {
			return ".transform.template", err
		}
	}
	return "", nil
}

// validateMerge checks a merge's policies, as ESO's CRD does, and that a
// JSON merge has a key to write (ESO fails at every sync without one).
func validateMerge(m RewriteMerge) (string, error) {
	switch m.Strategy {
	case "", "Extract":
	case "JSON":
		if m.Into == "" {
			return ".merge.into", errors.New("required with strategy JSON")
		}
		if err := secretKeyError(m.Into); err != nil {
			return ".merge.into", err
		}
	default:
		return ".merge.strategy", fmt.Errorf("must be Extract or JSON, not %q", m.Strategy)
	}
	switch m.ConflictPolicy {
	case "", "Ignore", "Error":
	default:
		return ".merge.conflictPolicy", fmt.Errorf("must be Ignore or Error, not %q", m.ConflictPolicy)
	}
	switch m.PriorityPolicy {
	case "", "IgnoreNotFound", "Strict":
	default:
		return ".merge.priorityPolicy", fmt.Errorf("must be IgnoreNotFound or Strict, not %q", m.PriorityPolicy)
	}
	return "", nil
}

// ParseRewrite parses a rewrite transform template, which sees the key as
// .value and, as in ESO, may use every template function.
func ParseRewrite(body string) (*template.Template, error) {
	return ParseTemplate("rewrite", body)
}

// keysReachSecret reports whether spec.data's secretKeys become keys of the
// Secret: with no template, or one that merges into them or sets no data.
func keysReachSecret(t *Template) bool {
	return t == nil || t.MergePolicy == "Merge" || (len(t.Data) == 0 && len(t.TemplateFrom) == 0)
}

// secretKeyError is the API server's rule for a Secret's data keys,
// checked before any AWS call so that validate reports what run would meet.
func secretKeyError(k string) error {
	if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid Secret key: %s", k, strings.Join(errs, "; "))
	}
	return nil
}

// validateTemplate returns every problem of a target.template: one per
// data, label and annotation key and per templateFrom entry, and one per
// other part, each at its field below spec.target.template.
func validateTemplate(t *Template) []fieldError {
	var errs []fieldError
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, fieldError{field, err})
		}
	}
	if t.EngineVersion != "" && t.EngineVersion != "v2" {
		check(".engineVersion", fmt.Errorf("only v2 is supported, not %q", t.EngineVersion))
	}
	if t.Metadata.Finalizers {
		check(".metadata.finalizers", errors.New("is refused: a finalizer that no controller removes makes the Secret undeletable, so a repo writer could block prune and every deletion of it"))
	}
	switch t.MergePolicy {
	case "", "Replace", "Merge":
	default:
		check(".mergePolicy", fmt.Errorf("must be Replace or Merge, not %q", t.MergePolicy))
	}
	for _, k := range slices.Sorted(maps.Keys(t.Data)) { // the same order on every run
		err := secretKeyError(k)
		if err == nil {
			_, err = ParseTemplate(k, t.Data[k])
		}
		check(".data."+k, err)
	}
	for _, m := range []struct {
		field string
		kv    map[string]string
	}{{".metadata.labels.", t.Metadata.Labels}, {".metadata.annotations.", t.Metadata.Annotations}} {
		for _, k := range slices.Sorted(maps.Keys(m.kv)) {
			_, err := ParseTemplate(k, m.kv[k])
			check(m.field+k, err)
		}
	}
	fromAnnotations := slices.ContainsFunc(t.TemplateFrom, func(tf TemplateFrom) bool { return tf.Into() == "Annotations" })
	check(".type", PrivilegedSecret(t.Type, t.Metadata.Annotations, fromAnnotations))
	for i, tf := range t.TemplateFrom {
		check(validateTemplateFrom(i, tf))
	}
	return errs
}

// validateTemplateFrom checks target.template.templateFrom[i].
func validateTemplateFrom(i int, tf TemplateFrom) (string, error) {
	f := fmt.Sprintf(".templateFrom[%d]", i)
	n := 0
	for _, set := range []bool{tf.ConfigMap != nil, tf.Secret != nil, tf.Literal != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return f, errors.New("exactly one of configMap, secret and literal is required")
	}
	if tf.Into() == "" {
		return f + ".target", fmt.Errorf("must be Data, Labels or Annotations (in any case), not %q", tf.Target)
	}
	if err := validateDecoding(tf.ValuesDecodingStrategy); err != nil {
		return f + ".valuesDecodingStrategy", err
	}
	if tf.Literal != nil {
		if _, err := ParseTemplate("literal", *tf.Literal); err != nil {
			return f + ".literal", err
		}
		return "", nil
	}
	ref := tf.ConfigMap
	if ref == nil {
		ref = tf.Secret
	}
	if ref.Name == "" || len(ref.Items) == 0 {
		return f, errors.New("name and items are required")
	}
	for j, it := range ref.Items {
		switch it.TemplateAs {
		case "", "Values", "KeysAndValues":
		default:
			return fmt.Sprintf("%s.items[%d].templateAs", f, j), fmt.Errorf("must be Values or KeysAndValues, not %q", it.TemplateAs)
		}
	}
	return "", nil
}
