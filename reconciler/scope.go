package reconciler

import (
	"context"
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/render"
)

// serves reports whether a store may serve an ExternalSecret in namespace
// ns. A SecretStore serves only its own namespace (store lookup already
// guarantees it); a ClusterSecretStore with conditions serves a namespace
// that matches any of them. Namespace labels are read only when a
// namespaceSelector needs them, once per namespace per pass.
func (r *Reconciler) serves(ctx context.Context, st *render.SecretStore, ns string, nsLabels map[string]labels.Set) (bool, error) {
	if st.Kind != render.KindClusterSecretStore || len(st.Spec.Conditions) == 0 {
		return st.Kind == render.KindClusterSecretStore || st.Namespace == ns, nil
	}
	for _, c := range st.Spec.Conditions {
		for _, n := range c.Namespaces {
			if n == ns {
				return true, nil
			}
		}
		for _, expr := range c.NamespaceRegexes {
			if re, err := regexp.Compile(expr); err == nil && re.MatchString(ns) {
				return true, nil
			}
		}
		if c.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
			if err != nil {
				return false, err
			}
			set, ok := nsLabels[ns]
			if !ok {
				n, err := r.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				if err != nil {
					return false, fmt.Errorf("read namespace %s for the store's namespaceSelector: %w", ns, err)
				}
				set = labels.Set(n.Labels)
				nsLabels[ns] = set
			}
			if sel.Matches(set) {
				return true, nil
			}
		}
	}
	return false, nil
}
