package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// mergeID names one merging ExternalSecret in annotation keys and field
// managers, which have length limits.
func mergeID(es *render.ExternalSecret) string {
	sum := sha256.Sum256([]byte(esID(es)))
	return hex.EncodeToString(sum[:5])
}

// listMerged reads the targets of merging ExternalSecrets, which carry no
// labels of ours: one GET each.
func (r *Reconciler) listMerged(ctx context.Context, set *render.Set) (map[plan.Target]*corev1.Secret, map[plan.Target]error) {
	out := map[plan.Target]*corev1.Secret{}
	errs := map[plan.Target]error{}
	for _, es := range set.ExternalSecrets {
		t := target(es)
		if !desired.Merges(es) || !r.namespaceAllowed(t.Namespace) {
			continue
		}
		if _, done := out[t]; done {
			continue
		}
		if err := desired.ForcedWriteProblem(es, r.cfg.OwnNamespaces, ""); err != nil {
			out[t], errs[t] = nil, fmt.Errorf("secret %s: %w", t, err) // not even read
			continue
		}
		s, err := r.scoped(render.AskerFor(es)).SecretObject(ctx, t.Namespace, t.Name)
		switch {
		case apierrors.IsNotFound(err):
			out[t] = nil
		case err != nil:
			errs[t] = fmt.Errorf("read secret %s: %w", t, err)
		default:
			if err := desired.ForcedWriteProblem(es, nil, string(s.Type)); err != nil {
				errs[t] = fmt.Errorf("secret %s: %w", t, err)
			}
			out[t] = s
		}
	}
	return out, errs
}

// buildMerge makes the partial Secret a merging ExternalSecret applies: its
// keys and its own hash annotation, no labels.
func (r *Reconciler) buildMerge(es *render.ExternalSecret, t plan.Target, raw map[string][]byte) desiredSecret {
	s := &corev1.Secret{Data: raw}
	s.Name, s.Namespace = t.Name, t.Namespace
	s.Annotations = map[string]string{}
	key := mergeKey(es)
	sh := drift.ShapeOf(s, key, false)
	hash := sh.Hash(s)
	s.Annotations[key] = hash
	return desiredSecret{es: es, target: t, secret: s, shape: sh, hash: hash}
}

// foreignOwners returns, for each of keys that another field manager holds
// in live, that manager: a merge overwrites such a key, as ESO does, and
// says so. self is the merging ExternalSecret's own manager.
func foreignOwners(live *corev1.Secret, keys []string, self string) map[string]string {
	if live == nil {
		return nil
	}
	out := map[string]string{}
	for _, m := range live.ManagedFields {
		if m.Manager == self || m.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Data map[string]json.RawMessage `json:"f:data"`
		}
		if json.Unmarshal(m.FieldsV1.Raw, &fields) != nil {
			continue
		}
		for _, k := range keys {
			if _, held := fields.Data["f:"+k]; held {
				if _, seen := out[k]; !seen {
					out[k] = m.Manager
				}
			}
		}
	}
	return out
}

func mergeManager(es *render.ExternalSecret) string { return FieldManager + "-merge-" + mergeID(es) }

// mergeKey is the annotation that carries a merging ExternalSecret's hash.
func mergeKey(es *render.ExternalSecret) string { return "secretsync.io/merge-" + mergeID(es) }

// applyMerge writes a merging ExternalSecret's keys under its own field
// manager, so that other writers' keys stay theirs. Merge never creates the
// Secret (the plan refuses it); CreateOrMerge does, without our labels, so
// it is never pruned.
// Writers of one target run one after another (see apply), each passing
// the Secret it got back to the next as the version to expect.
func (r *Reconciler) applyMerge(ctx context.Context, d desiredSecret, live *corev1.Secret) (*corev1.Secret, error) {
	ac := corev1ac.Secret(d.target.Name, d.target.Namespace).WithAnnotations(d.secret.Annotations).WithData(d.secret.Data)
	if live != nil {
		ac = ac.WithResourceVersion(live.ResourceVersion) // it must still be the Secret we read
	}
	s, err := r.kube.CoreV1().Secrets(d.target.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: mergeManager(d.es), Force: true})
	return s, r.scrub.Error(err) // as the writes of targets.go
}
