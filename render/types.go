package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The types below are the External Secrets Operator schema
// (external-secrets.io/v1; v1beta1 uses the same JSON names), limited to the
// fields secretsync reads. Decoding is strict: a field that is not listed
// here is an error rather than silently ignored. Fields kept as
// json.RawMessage are accepted by the schema but not yet acted on; the
// reconciler refuses an object that sets them.

const (
	Group                  = "external-secrets.io"
	GeneratorsGroup        = "generators.external-secrets.io"
	KindExternalSecret     = "ExternalSecret"
	KindSecretStore        = "SecretStore"
	KindClusterSecretStore = "ClusterSecretStore"
	// The kinds an ExternalSecret may write.
	KindSecret    = "Secret"
	KindConfigMap = "ConfigMap"
	// KindClusterExternalSecret expands into one ExternalSecret per
	// namespace it selects, at each pass (Expand).
	KindClusterExternalSecret = "ClusterExternalSecret"
)

// ClusterExternalSecret is an ExternalSecret for every namespace that
// namespaces or namespaceSelectors choose.
type ClusterExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ClusterExternalSecretSpec `json:"spec"`
	Status            json.RawMessage           `json:"status,omitempty"`
	Source            string                    `json:"-"`
}

type ClusterExternalSecretSpec struct {
	ExternalSecretSpec     ExternalSecretSpec     `json:"externalSecretSpec"`
	ExternalSecretName     string                 `json:"externalSecretName,omitempty"`
	ExternalSecretMetadata ExternalSecretMetadata `json:"externalSecretMetadata,omitzero"`
	// NamespaceSelector is deprecated in ESO for NamespaceSelectors; both
	// are read, ORed, as ESO does.
	NamespaceSelector  *metav1.LabelSelector   `json:"namespaceSelector,omitempty"`
	NamespaceSelectors []*metav1.LabelSelector `json:"namespaceSelectors,omitempty"`
	Namespaces         []string                `json:"namespaces,omitempty"`
	// RefreshTime is how often ESO looks at namespaces again; secretsync
	// does at every pass, so it is accepted and not needed.
	RefreshTime *Duration `json:"refreshTime,omitempty"`
}

type ExternalSecretMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ExternalSecretName is the name of the ExternalSecrets it makes.
func (c *ClusterExternalSecret) ExternalSecretName() string {
	if c.Spec.ExternalSecretName != "" {
		return c.Spec.ExternalSecretName
	}
	return c.Name
}

// Selects reports whether the namespace named ns, with labels, is one the
// ClusterExternalSecret chooses: named in namespaces, or matched by any
// selector (ESO matches names through the kubernetes.io/metadata.name
// label, so only namespaces that exist are chosen).
func (c *ClusterExternalSecret) Selects(ns string, lbls map[string]string) bool {
	for _, n := range c.Spec.Namespaces {
		if n == ns {
			return true
		}
	}
	for _, sel := range c.selectors() {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err == nil && s.Matches(labels.Set(lbls)) {
			return true
		}
	}
	return false
}

func (c *ClusterExternalSecret) selectors() []*metav1.LabelSelector {
	out := append([]*metav1.LabelSelector(nil), c.Spec.NamespaceSelectors...)
	if c.Spec.NamespaceSelector != nil {
		out = append(out, c.Spec.NamespaceSelector)
	}
	return out
}

// Expand is the ExternalSecret made in namespace ns, as ESO makes it: the
// spec, the name, and externalSecretMetadata as its labels and annotations.
func (c *ClusterExternalSecret) Expand(ns string) *ExternalSecret {
	es := &ExternalSecret{Spec: c.Spec.ExternalSecretSpec, Source: c.Source}
	es.APIVersion = c.APIVersion
	es.Namespace, es.Name = ns, c.ExternalSecretName()
	es.makeID()
	es.Labels = maps.Clone(c.Spec.ExternalSecretMetadata.Labels)
	es.Annotations = maps.Clone(c.Spec.ExternalSecretMetadata.Annotations)
	return es
}

// Meta is an ExternalSecret's metadata as secretsync keeps it. A render
// holds one per ExternalSecret, and metav1.ObjectMeta is five times its
// size; the fields secretsync has no use for are accepted, so that objects
// exported from a cluster decode, and dropped.
type Meta struct {
	GenerateName               ignored `json:"generateName,omitzero"`
	SelfLink                   ignored `json:"selfLink,omitzero"`
	UID                        ignored `json:"uid,omitzero"`
	ResourceVersion            ignored `json:"resourceVersion,omitzero"`
	Generation                 ignored `json:"generation,omitzero"`
	CreationTimestamp          ignored `json:"creationTimestamp,omitzero"`
	DeletionTimestamp          ignored `json:"deletionTimestamp,omitzero"`
	DeletionGracePeriodSeconds ignored `json:"deletionGracePeriodSeconds,omitzero"`
	OwnerReferences            ignored `json:"ownerReferences,omitzero"`
	Finalizers                 ignored `json:"finalizers,omitzero"`
	ManagedFields              ignored `json:"managedFields,omitzero"`

	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ExternalSecret maps remote values to one Kubernetes Secret.
type ExternalSecret struct {
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind is always ExternalSecret (the decode dispatched on it): it is
	// accepted and not kept, as a pass holds 50,000 of these.
	Kind ignored `json:"kind,omitzero"`
	Meta `json:"metadata"`
	Spec ExternalSecretSpec `json:"spec"`
	// Status is accepted so that objects exported from a cluster decode; it
	// is ignored, and takes no room.
	Status ignored `json:"status,omitzero"`
	// Source is the repo-relative file the object came from.
	Source string `json:"-"`
	id     string
}

// ignored accepts any JSON value and keeps none of it.
type ignored struct{}

func (*ignored) UnmarshalJSON([]byte) error { return nil }

// present records that a field is there, whatever its value (null too),
// and keeps none of the value.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// ID is "namespace/name". A decoded object makes it once: a pass keys
// several records per ExternalSecret by it, and 10,000 copies of each add
// up. It is checked against the fields, so an object built or changed by
// hand still answers right.
func (es *ExternalSecret) ID() string {
	ns, name := es.Namespace, es.Name
	if id := es.id; len(id) == len(ns)+1+len(name) && id[:len(ns)] == ns && id[len(ns)] == '/' && id[len(ns)+1:] == name {
		return id
	}
	return ns + "/" + name
}

func (es *ExternalSecret) makeID() { es.id = es.Namespace + "/" + es.Name }

type ExternalSecretSpec struct {
	SecretStoreRef  SecretStoreRef `json:"secretStoreRef,omitzero"`
	Target          Target         `json:"target,omitzero"`
	RefreshInterval *Duration      `json:"refreshInterval,omitempty"`
	RefreshPolicy   string         `json:"refreshPolicy,omitempty"`
	Data            []Data         `json:"data,omitempty"`
	DataFrom        []DataFrom     `json:"dataFrom,omitempty"`
	// SyncWindows is ESO's; it is noted so that it is refused by name.
	SyncWindows present `json:"syncWindows,omitempty"`
}

type SecretStoreRef struct {
	Name string `json:"name,omitempty"`
	Kind string `json:"kind,omitempty"`
}

type Target struct {
	Name           string    `json:"name,omitempty"`
	CreationPolicy string    `json:"creationPolicy,omitempty"`
	DeletionPolicy string    `json:"deletionPolicy,omitempty"`
	Template       *Template `json:"template,omitempty"`
	Immutable      bool      `json:"immutable,omitempty"`
	// Manifest writes the values into another kind of object; secretsync
	// writes v1 ConfigMaps this way and refuses every other kind.
	Manifest *ManifestRef `json:"manifest,omitempty"`
}

// ManifestRef is ESO's target.manifest: the kind of object to write
// instead of a Secret.
type ManifestRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// Template shapes the Secret from the resolved values (engineVersion v2).
type Template struct {
	Type          string            `json:"type,omitempty"`
	EngineVersion string            `json:"engineVersion,omitempty"`
	Metadata      TemplateMetadata  `json:"metadata,omitzero"`
	MergePolicy   string            `json:"mergePolicy,omitempty"`
	Data          map[string]string `json:"data,omitempty"`
	TemplateFrom  []TemplateFrom    `json:"templateFrom,omitempty"`
}

type TemplateMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Finalizers is ESO's; it is noted so that it is refused by name.
	Finalizers present `json:"finalizers,omitempty"`
}

// TemplateFrom takes templates from a literal, or from keys of a ConfigMap
// or Secret in the ExternalSecret's namespace.
type TemplateFrom struct {
	ConfigMap *TemplateRef `json:"configMap,omitempty"`
	Secret    *TemplateRef `json:"secret,omitempty"`
	Literal   *string      `json:"literal,omitempty"`
	Target    string       `json:"target,omitzero"`
	// ValuesDecodingStrategy decodes each rendered value (never a key), as
	// a remoteRef's decodingStrategy does: None (empty), Base64, Base64URL
	// or Auto.
	ValuesDecodingStrategy string `json:"valuesDecodingStrategy,omitempty"`
}

// Into is where the entry's output goes: "Data", "Labels" or
// "Annotations", target matched in any case as ESO 2.9.0 does (empty is
// Data); "" for any other target, which validate refuses.
func (tf TemplateFrom) Into() string {
	if tf.Target == "" {
		return "Data"
	}
	for _, t := range []string{"Data", "Labels", "Annotations"} {
		if strings.EqualFold(tf.Target, t) {
			return t
		}
	}
	return ""
}

type TemplateRef struct {
	Name  string            `json:"name"`
	Items []TemplateRefItem `json:"items"`
}

type TemplateRefItem struct {
	Key        string `json:"key"`
	TemplateAs string `json:"templateAs,omitempty"`
}

type Data struct {
	SecretKey string     `json:"secretKey"`
	RemoteRef RemoteRef  `json:"remoteRef"`
	SourceRef *SourceRef `json:"sourceRef,omitempty"`
}

type RemoteRef struct {
	Key                string `json:"key"`
	Property           string `json:"property,omitempty"`
	Version            string `json:"version,omitempty"`
	MetadataPolicy     string `json:"metadataPolicy,omitempty"`
	ConversionStrategy string `json:"conversionStrategy,omitempty"`
	DecodingStrategy   string `json:"decodingStrategy,omitempty"`
	NullBytePolicy     string `json:"nullBytePolicy,omitempty"`
}

type DataFrom struct {
	Extract   *RemoteRef `json:"extract,omitempty"`
	Find      *Find      `json:"find,omitempty"`
	Rewrite   []Rewrite  `json:"rewrite,omitempty"`
	SourceRef *SourceRef `json:"sourceRef,omitempty"`
}

// Find selects remote secrets by name pattern, tags or path; each becomes
// one key named after the secret.
type Find struct {
	Path               *string           `json:"path,omitempty"`
	Name               *FindName         `json:"name,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	ConversionStrategy string            `json:"conversionStrategy,omitempty"`
	DecodingStrategy   string            `json:"decodingStrategy,omitempty"`
	NullBytePolicy     string            `json:"nullBytePolicy,omitempty"`
}

type FindName struct {
	RegExp string `json:"regexp"`
}

// Rewrite renames keys (a regexp replacement or a Go template of .value),
// or merges the values, each a JSON object, into keys of their own.
type Rewrite struct {
	Regexp    *RewriteRegexp    `json:"regexp,omitempty"`
	Transform *RewriteTransform `json:"transform,omitempty"`
	Merge     *RewriteMerge     `json:"merge,omitempty"`
}

// RewriteMerge is ESO's merge: every value is a JSON object, read in key
// order with the priority keys last; Extract makes each of their keys a
// key, JSON writes them all as one JSON object into Into.
type RewriteMerge struct {
	Into           string   `json:"into,omitempty"`
	Priority       []string `json:"priority,omitempty"`
	PriorityPolicy string   `json:"priorityPolicy,omitempty"` // Strict (empty) or IgnoreNotFound
	ConflictPolicy string   `json:"conflictPolicy,omitempty"` // Error (empty) or Ignore
	Strategy       string   `json:"strategy,omitempty"`       // Extract (empty) or JSON
}

type RewriteRegexp struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

type RewriteTransform struct {
	Template string `json:"template"`
}

type SourceRef struct {
	StoreRef  *SecretStoreRef `json:"storeRef,omitempty"`
	Generator json.RawMessage `json:"generatorRef,omitempty"`
}

// SecretStore and ClusterSecretStore share one shape; Kind tells them apart.
type SecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              SecretStoreSpec `json:"spec"`
	Status            json.RawMessage `json:"status,omitempty"`
	Source            string          `json:"-"`
}

type SecretStoreSpec struct {
	Provider Provider `json:"provider"`
	// Controller and RefreshInterval are ESO's; they are noted so that
	// they are refused by name (validateStore).
	Controller      string  `json:"controller,omitempty"`
	RefreshInterval present `json:"refreshInterval,omitempty"`
	// RetrySettings sets how the AWS SDK retries each call, as ESO's AWS
	// provider does.
	RetrySettings *RetrySettings `json:"retrySettings,omitempty"`
	// Conditions limit the namespaces a ClusterSecretStore serves; an
	// ExternalSecret's namespace must match one of them.
	Conditions []StoreCondition `json:"conditions,omitempty"`
}

// RetrySettings is a store's retrySettings. ESO's AWS provider gives the
// SDK's standard retryer maxRetries as its maximum number of attempts
// (the first call included; 3 when unset) and, when retryInterval is a
// positive duration, that fixed delay between attempts instead of the
// SDK's jittered backoff. STS calls keep the SDK's default retryer.
type RetrySettings struct {
	MaxRetries    *int32  `json:"maxRetries,omitempty"`
	RetryInterval *string `json:"retryInterval,omitempty"`
}

// Bounds on retrySettings: every attempt is a call AWS bills and that holds
// the pass.
const (
	MaxRetryAttempts = 10
	MaxRetryInterval = time.Minute
)

// Attempts and Interval are what the SDK is given: ESO's default of 3
// attempts, and 0 (the SDK's own backoff) without a positive interval.
// They assume validateStore accepted the settings.
func (r *RetrySettings) Attempts() int {
	if r.MaxRetries == nil {
		return 3
	}
	return int(*r.MaxRetries)
}

func (r *RetrySettings) Interval() time.Duration {
	if r.RetryInterval == nil {
		return 0
	}
	d, _ := time.ParseDuration(*r.RetryInterval)
	return max(d, 0)
}

// StoreCondition matches a namespace by label selector, by name, or by
// name regexp; any one match allows it.
type StoreCondition struct {
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	Namespaces        []string              `json:"namespaces,omitempty"`
	NamespaceRegexes  []string              `json:"namespaceRegexes,omitempty"`
}

// Provider holds exactly one backend. Only aws is understood; any other
// provider key is decoded as unknown and reported.
type Provider struct {
	AWS *AWSProvider `json:"aws,omitempty"`
}

// AWSSecretsManager is ESO's store setting for PushSecret's deletes.
type AWSSecretsManager struct {
	ForceDeleteWithoutRecovery bool  `json:"forceDeleteWithoutRecovery,omitempty"`
	RecoveryWindowInDays       int64 `json:"recoveryWindowInDays,omitempty"`
}

type AWSProvider struct {
	Service           string   `json:"service"`
	Region            string   `json:"region,omitempty"`
	Prefix            string   `json:"prefix,omitempty"`
	Auth              AWSAuth  `json:"auth,omitzero"`
	Role              string   `json:"role,omitempty"`
	AdditionalRoles   []string `json:"additionalRoles,omitempty"`
	ExternalID        string   `json:"externalID,omitempty"`
	SessionTags       []Tag    `json:"sessionTags,omitempty"`
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	// SecretsManager is how PushSecret deletes in Secrets Manager.
	SecretsManager *AWSSecretsManager `json:"secretsManager,omitempty"`
	// SessionTagsPolicy Simple or Custom tags the role session as ESO
	// 2.9.0 does: esoNamespace (the served ExternalSecret's), esoStoreName
	// and esoStoreKind, plus CustomSessionTags with Custom (SessionTags).
	SessionTagsPolicy string            `json:"sessionTagsPolicy,omitempty"`
	CustomSessionTags map[string]string `json:"customSessionTags,omitempty"`
	// KMSKeyID is a secretsync extension. With service SecretsManager, every
	// secret read through the store must be encrypted with this key; with
	// service KMS, ciphertext must have been made with it.
	KMSKeyID string `json:"kmsKeyId,omitempty"`
}

// TagsByPolicy reports whether sessionTagsPolicy sets the session's tags
// (Simple or Custom).
func (a *AWSProvider) TagsByPolicy() bool {
	return a.SessionTagsPolicy == "Simple" || a.SessionTagsPolicy == "Custom"
}

// SessionTagsFor are the tags of the role session of the store named
// storeName, of kind storeKind, serving an ExternalSecret in namespace ns:
// sessionTags, or with sessionTagsPolicy Simple or Custom what ESO 2.9.0
// puts in their place.
func (a *AWSProvider) SessionTagsFor(ns, storeName, storeKind string) map[string]string {
	var out map[string]string
	if a.TagsByPolicy() {
		out = map[string]string{"esoNamespace": ns, "esoStoreName": storeName, "esoStoreKind": storeKind}
		if a.SessionTagsPolicy == "Custom" {
			maps.Copy(out, a.CustomSessionTags)
		}
		return out
	}
	for _, t := range a.SessionTags {
		if out == nil {
			out = map[string]string{}
		}
		out[t.Key] = t.Value
	}
	return out
}

// reservedSessionTags are the tags sessionTagsPolicy sets.
var reservedSessionTags = []string{"esoNamespace", "esoStoreName", "esoStoreKind"}

// Tag is an STS session tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type AWSAuth struct {
	SecretRef *AWSAuthSecretRef `json:"secretRef,omitempty"`
	JWT       *AWSJWTAuth       `json:"jwt,omitempty"`
}

// AWSJWTAuth authenticates as a service account: a TokenRequest for it,
// then AssumeRoleWithWebIdentity of the role in its
// eks.amazonaws.com/role-arn annotation.
type AWSJWTAuth struct {
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

type ServiceAccountSelector struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
}

type AWSAuthSecretRef struct {
	AccessKeyID     SecretKeySelector  `json:"accessKeyIDSecretRef"`
	SecretAccessKey SecretKeySelector  `json:"secretAccessKeySecretRef"`
	SessionToken    *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

type SecretKeySelector struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Key       string `json:"key"`
}

// StoreRef names the store serving an entry: its own sourceRef.storeRef,
// else the ExternalSecret's secretStoreRef. kind defaults to SecretStore;
// namespace is empty for a ClusterSecretStore.
func (es *ExternalSecret) StoreRef(src *SourceRef) (kind, namespace, name string) {
	ref := es.Spec.SecretStoreRef
	if src != nil && src.StoreRef != nil {
		ref = *src.StoreRef
	}
	kind, namespace, name = ref.Kind, es.Namespace, ref.Name
	if kind == "" {
		kind = KindSecretStore
	}
	if kind == KindClusterSecretStore {
		namespace = ""
	}
	return kind, namespace, name
}

// TargetName is the Secret the ExternalSecret writes: target.name, else
// its own name.
// TargetKind is the kind of object es writes: KindConfigMap for a
// target.manifest, KindSecret otherwise.
func (es *ExternalSecret) TargetKind() string {
	if m := es.Spec.Target.Manifest; m != nil && m.Kind == KindConfigMap {
		return KindConfigMap
	}
	return KindSecret
}

func (es *ExternalSecret) TargetName() string {
	if es.Spec.Target.Name != "" {
		return es.Spec.Target.Name
	}
	return es.Name
}

// Duration is a duration as the manifest writes it: it decodes as Go's
// time.ParseDuration does and prints as written ("1h", not "1h0m0s").
type Duration struct {
	time.Duration
	text string
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"1h\" or \"30m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration, d.text = v, s
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) {
	if d.text == "" {
		return json.Marshal(d.Duration.String())
	}
	return json.Marshal(d.text)
}
