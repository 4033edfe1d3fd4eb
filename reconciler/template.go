package reconciler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// shaped is a Secret's content after target.template.
type shaped struct {
	data        map[string]providers.Value
	typ         corev1.SecretType
	labels      map[string]string
	annotations map[string]string
}

// applyTemplate renders target.template (engine v2) over the resolved
// values, which templates see as strings: .password. templateFrom comes
// first, then template.data; with mergePolicy Merge the resolved keys stay
// under the templated ones. ConfigMap and Secret templates are read from
// the ExternalSecret's namespace. Errors name the template, never a value.
func (r *Reconciler) applyTemplate(ctx context.Context, es *render.ExternalSecret, data map[string]providers.Value) (shaped, error) {
	t := es.Spec.Target.Template
	out := shaped{data: data, typ: corev1.SecretTypeOpaque}
	if t == nil {
		return out, nil
	}
	if t.Type != "" {
		out.typ = corev1.SecretType(t.Type)
	}
	out.labels = copyMap(t.Metadata.Labels)
	out.annotations = copyMap(t.Metadata.Annotations)
	if len(t.Data) == 0 && len(t.TemplateFrom) == 0 {
		return out, nil
	}
	values := make(map[string]string, len(data))
	for k, v := range data {
		values[k] = string(v.Bytes())
	}
	result := map[string]providers.Value{}
	if t.MergePolicy == "Merge" {
		for k, v := range data {
			result[k] = v
		}
	}
	put := func(target, k, v string) {
		switch target {
		case "Labels":
			out.labels[k] = v
		case "Annotations":
			out.annotations[k] = v
		default:
			result[k] = providers.NewValue([]byte(v))
		}
	}
	for i, tf := range t.TemplateFrom {
		field := fmt.Sprintf("spec.target.template.templateFrom[%d]", i)
		if tf.Literal != nil {
			kv, err := executeKeysAndValues(field+".literal", *tf.Literal, values)
			if err != nil {
				return out, err
			}
			for k, v := range kv {
				put(tf.Target, k, v)
			}
			continue
		}
		sources, err := r.templateSource(ctx, es.Namespace, tf)
		if err != nil {
			return out, fmt.Errorf("%s: %w", field, err)
		}
		ref := tf.ConfigMap
		if ref == nil {
			ref = tf.Secret
		}
		for _, it := range ref.Items {
			body, ok := sources[it.Key]
			if !ok {
				return out, fmt.Errorf("%s: key %q not found in %s", field, it.Key, ref.Name)
			}
			if it.TemplateAs == "KeysAndValues" {
				kv, err := executeKeysAndValues(field+"."+it.Key, body, values)
				if err != nil {
					return out, err
				}
				for k, v := range kv {
					put(tf.Target, k, v)
				}
				continue
			}
			v, err := render.Execute(field+"."+it.Key, body, values)
			if err != nil {
				return out, err
			}
			put(tf.Target, it.Key, v)
		}
	}
	for k, body := range t.Data {
		v, err := render.Execute("spec.target.template.data."+k, body, values)
		if err != nil {
			return out, err
		}
		result[k] = providers.NewValue([]byte(v))
	}
	out.data = result
	return out, nil
}

// executeKeysAndValues renders a template whose output is a YAML map of
// keys to values.
func executeKeysAndValues(name, body string, values map[string]string) (map[string]string, error) {
	text, err := render.Execute(name, body, values)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	if err := yaml.Unmarshal([]byte(text), &kv); err != nil {
		return nil, fmt.Errorf("template %s: its output is not a map of keys to strings", name)
	}
	return kv, nil
}

// templateSource reads the keys of a templateFrom ConfigMap or Secret.
func (r *Reconciler) templateSource(ctx context.Context, ns string, tf render.TemplateFrom) (map[string]string, error) {
	if tf.ConfigMap != nil {
		cm, err := r.kube.CoreV1().ConfigMaps(ns).Get(ctx, tf.ConfigMap.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read configmap %s/%s: %w", ns, tf.ConfigMap.Name, err)
		}
		return cm.Data, nil
	}
	s, err := r.kube.CoreV1().Secrets(ns).Get(ctx, tf.Secret.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read secret %s/%s: %w", ns, tf.Secret.Name, err)
	}
	out := make(map[string]string, len(s.Data))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
