package reconciler

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/desired"
)

// templateFrom's ConfigMaps and Secrets are read through the
// ExternalSecret's scope.
var _ desired.TemplateSources = scoped{}

func (c scoped) ConfigMap(ctx context.Context, named, name string) (map[string]string, error) {
	ns, err := c.asker.Scope(named)
	if err != nil {
		return nil, err
	}
	cm, err := c.r.kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return cm.Data, nil
}

func (c scoped) Secret(ctx context.Context, named, name string) (map[string]string, error) {
	sec, err := c.secret(ctx, named, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		out[k] = string(v)
	}
	return out, nil
}
