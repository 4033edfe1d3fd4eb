package reconciler

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/desired"
)

// namespaceLabels reads a namespace's labels for a store's
// namespaceSelector: only when one needs them, once per namespace per pass.
func (r *Reconciler) namespaceLabels(ctx context.Context) desired.NamespaceLabels {
	read := map[string]labels.Set{}
	return func(ns string) (labels.Set, error) {
		if set, ok := read[ns]; ok {
			return set, nil
		}
		n, err := r.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		read[ns] = labels.Set(n.Labels)
		return read[ns], nil
	}
}
