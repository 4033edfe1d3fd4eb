package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
)

// Targets reads and writes the objects secretsync manages. It is the one
// place that knows a target may be a ConfigMap (ESO's target.manifest):
// everywhere else a ConfigMap target travels as a *corev1.Secret with its
// values as bytes, so that hashing, policies, the drift checks and prune
// stay one code path; the calls below convert at the API server's edge.
type Targets struct {
	kube kubernetes.Interface
	red  *scrub.Redactor
}

// NewTargets returns the targets as a pass writes them: its writes' errors
// are scrubbed of what red knows.
func NewTargets(kube kubernetes.Interface, red *scrub.Redactor) Targets {
	return Targets{kube: kube, red: red}
}

// configMapOf is the ConfigMap that holds s's content: text values in
// data, and values that are not UTF-8 whole in binaryData.
func configMapOf(s *corev1.Secret) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: s.ObjectMeta, Immutable: s.Immutable}
	for k, v := range s.Data {
		if utf8.Valid(v) {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[k] = string(v)
			continue
		}
		if cm.BinaryData == nil {
			cm.BinaryData = map[string][]byte{}
		}
		cm.BinaryData[k] = v
	}
	return cm
}

// secretOf is a ConfigMap as the rest of secretsync reads targets.
func secretOf(cm *corev1.ConfigMap) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: cm.ObjectMeta, Immutable: cm.Immutable}
	if n := len(cm.Data) + len(cm.BinaryData); n > 0 {
		s.Data = make(map[string][]byte, n)
	}
	for k, v := range cm.Data {
		s.Data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		s.Data[k] = v
	}
	return s
}

// Get reads one target.
func (c Targets) Get(ctx context.Context, t plan.Target) (*corev1.Secret, error) {
	if t.Kind == "" {
		return c.kube.CoreV1().Secrets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	}
	cm, err := c.kube.CoreV1().ConfigMaps(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return secretOf(cm), nil
}

// List reads one page of the targets of a scope.
func (c Targets) List(ctx context.Context, scope plan.Target, opts metav1.ListOptions) ([]*corev1.Secret, string, error) {
	if scope.Kind == "" {
		list, err := c.kube.CoreV1().Secrets(scope.Namespace).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		out := make([]*corev1.Secret, len(list.Items))
		for i := range list.Items {
			out[i] = &list.Items[i]
		}
		return out, list.Continue, nil
	}
	list, err := c.kube.CoreV1().ConfigMaps(scope.Namespace).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	out := make([]*corev1.Secret, len(list.Items))
	for i := range list.Items {
		out[i] = secretOf(&list.Items[i])
	}
	return out, list.Continue, nil
}

// The writes below return the API server's errors scrubbed of the pass's
// values (Targets.red): the server quotes what it refuses (a label, a
// key name), and the caller wraps the error into every outlet.

// Create creates s, which fails when the name is taken.
func (c Targets) Create(ctx context.Context, t plan.Target, s *corev1.Secret) error {
	opts := metav1.CreateOptions{FieldManager: plan.FieldManager}
	var err error
	if t.Kind == "" {
		_, err = c.kube.CoreV1().Secrets(t.Namespace).Create(ctx, s, opts)
	} else {
		_, err = c.kube.CoreV1().ConfigMaps(t.Namespace).Create(ctx, configMapOf(s), opts)
	}
	return c.red.Error(err)
}

// Apply server-side applies the whole of s as secretsync.
func (c Targets) Apply(ctx context.Context, t plan.Target, s *corev1.Secret) error {
	opts := metav1.ApplyOptions{FieldManager: plan.FieldManager, Force: true}
	if t.Kind == "" {
		ac := corev1ac.Secret(t.Name, t.Namespace).
			WithLabels(s.Labels).
			WithAnnotations(s.Annotations).
			WithType(s.Type).
			WithData(s.Data)
		if s.Immutable != nil {
			ac = ac.WithImmutable(*s.Immutable)
		}
		_, err := c.kube.CoreV1().Secrets(t.Namespace).Apply(ctx, ac, opts)
		return c.red.Error(err)
	}
	cm := configMapOf(s)
	ac := corev1ac.ConfigMap(t.Name, t.Namespace).
		WithLabels(cm.Labels).
		WithAnnotations(cm.Annotations)
	if len(cm.Data) > 0 {
		ac = ac.WithData(cm.Data)
	}
	if len(cm.BinaryData) > 0 {
		ac = ac.WithBinaryData(cm.BinaryData)
	}
	if cm.Immutable != nil {
		ac = ac.WithImmutable(*cm.Immutable)
	}
	_, err := c.kube.CoreV1().ConfigMaps(t.Namespace).Apply(ctx, ac, opts)
	return c.red.Error(err)
}

// ApplyMerge server-side applies a merging writer's keys and annotations
// (s: a Secret's, no labels) under its own field manager, so that other
// writers' keys stay theirs; with live set, only if the Secret is still
// that version. Merge never creates the Secret (the plan refuses it);
// CreateOrMerge does, without our labels, so it is never pruned. Writers
// of one target run one after another, each passing the Secret it got
// back to the next as the version to expect.
func (c Targets) ApplyMerge(ctx context.Context, s *corev1.Secret, manager string, live *corev1.Secret) (*corev1.Secret, error) {
	ac := corev1ac.Secret(s.Name, s.Namespace).WithAnnotations(s.Annotations).WithData(s.Data)
	if live != nil {
		ac = ac.WithResourceVersion(live.ResourceVersion) // it must still be the Secret read
	}
	out, err := c.kube.CoreV1().Secrets(s.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: manager, Force: true})
	return out, c.red.Error(err)
}

// OwnByApply turns the fields secretsync's create recorded as an Update
// into an Apply of the same fields, before the first server-side apply:
// otherwise a key that later leaves the ExternalSecret would stay, still
// held by the create. It costs one patch, once per created Secret, and
// only when it is first updated.
func (c Targets) OwnByApply(ctx context.Context, t plan.Target, s *corev1.Secret) error {
	entries := make([]metav1.ManagedFieldsEntry, len(s.ManagedFields))
	for i, m := range s.ManagedFields {
		if m.Manager == plan.FieldManager && m.Operation == metav1.ManagedFieldsOperationUpdate {
			m.Operation = metav1.ManagedFieldsOperationApply
		}
		entries[i] = m
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": s.ResourceVersion, "managedFields": entries}})
	if err != nil {
		return err
	}
	if err := c.MergePatch(ctx, t, patch); err != nil {
		return fmt.Errorf("take over the fields of its create as server-side apply: %w", err)
	}
	return nil
}

// MergePatch sends a JSON merge patch to one target.
func (c Targets) MergePatch(ctx context.Context, t plan.Target, patch []byte) error {
	opts := metav1.PatchOptions{FieldManager: plan.FieldManager}
	var err error
	if t.Kind == "" {
		_, err = c.kube.CoreV1().Secrets(t.Namespace).Patch(ctx, t.Name, types.MergePatchType, patch, opts)
	} else {
		_, err = c.kube.CoreV1().ConfigMaps(t.Namespace).Patch(ctx, t.Name, types.MergePatchType, patch, opts)
	}
	return c.red.Error(err)
}

// Delete deletes one target, only if it is still the object seen.
func (c Targets) Delete(ctx context.Context, t plan.Target, seen *corev1.Secret) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &seen.UID, ResourceVersion: &seen.ResourceVersion}}
	if t.Kind == "" {
		return c.kube.CoreV1().Secrets(t.Namespace).Delete(ctx, t.Name, opts)
	}
	return c.kube.CoreV1().ConfigMaps(t.Namespace).Delete(ctx, t.Name, opts)
}

// resource is the kind's API resource, for the metadata lists.
func resource(t plan.Target) string {
	if t.Kind == "" {
		return "secrets"
	}
	return "configmaps"
}

// ListMetadata lists the targets of a scope (namespace "" for all) that
// match selector as PartialObjectMetadata, 500 at a time: no data crosses
// the wire.
func (c Targets) ListMetadata(ctx context.Context, scope plan.Target, selector string, each func(metav1.PartialObjectMetadata)) error {
	cont := ""
	for {
		req := c.kube.CoreV1().RESTClient().Get().Namespace(scope.Namespace).Resource(resource(scope)).
			SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1").
			Param("limit", "500")
		if selector != "" {
			req = req.Param("labelSelector", selector)
		}
		if cont != "" {
			req = req.Param("continue", cont)
		}
		raw, err := req.DoRaw(ctx)
		if err != nil {
			return err
		}
		var list metav1.PartialObjectMetadataList
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
		for _, item := range list.Items {
			each(item)
		}
		if cont = list.Continue; cont == "" {
			return nil
		}
	}
}
