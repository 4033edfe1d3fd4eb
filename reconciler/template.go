package reconciler

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/desired"
)

// templateSources reads templateFrom's ConfigMaps and Secrets from the
// cluster.
type templateSources struct{ r *Reconciler }

var _ desired.TemplateSources = templateSources{}

func (s templateSources) ConfigMap(ctx context.Context, ns, name string) (map[string]string, error) {
	cm, err := s.r.kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return cm.Data, nil
}

func (s templateSources) Secret(ctx context.Context, ns, name string) (map[string]string, error) {
	sec, err := s.r.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		out[k] = string(v)
	}
	return out, nil
}
