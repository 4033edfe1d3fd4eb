package desired

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Shaped is a Secret's content after target.template.
type Shaped struct {
	Data        map[string]providers.Value
	Type        string // the Secret's type; Opaque unless the template sets one
	Labels      map[string]string
	Annotations map[string]string
}

// TemplateSources reads what templateFrom names, in the ExternalSecret's
// namespace: a ConfigMap's or a Secret's keys.
type TemplateSources interface {
	ConfigMap(ctx context.Context, namespace, name string) (map[string]string, error)
	Secret(ctx context.Context, namespace, name string) (map[string]string, error)
}

// ApplyTemplate renders target.template (engine v2) over the resolved
// values, which templates see as strings: .password. templateFrom comes
// first (each rendered value decoded by its valuesDecodingStrategy, as
// ESO's), then template.data; with mergePolicy Merge the resolved keys stay
// under the templated ones. ConfigMap and Secret templates are read from
// the ExternalSecret's namespace. Errors name the template, never a value.
func ApplyTemplate(ctx context.Context, es *render.ExternalSecret, data map[string]providers.Value, sources TemplateSources) (Shaped, error) {
	t := es.Spec.Target.Template
	out := Shaped{Data: data, Type: "Opaque"}
	if t == nil {
		// As ESO: without a template, the Secret carries the
		// ExternalSecret's own labels and annotations.
		out.Labels, out.Annotations = CopyMap(es.Labels), CopyMap(es.Annotations)
		return out, nil
	}
	if t.Type != "" {
		out.Type = t.Type
	}
	out.Labels, out.Annotations = map[string]string{}, map[string]string{}
	values := make(map[string]string, len(data))
	for k, v := range data {
		values[k] = string(v.Bytes())
	}
	if len(t.Data) > 0 || len(t.TemplateFrom) > 0 {
		shaped, err := applyData(ctx, es, t, data, values, sources, &out)
		if err != nil {
			return out, err
		}
		out.Data = shaped
	}
	// template.metadata comes last, rendered like data, so its labels and
	// annotations win over templateFrom's, in ESO's order.
	for _, m := range []struct {
		field string
		from  map[string]string
		to    map[string]string
	}{{"labels", t.Metadata.Labels, out.Labels}, {"annotations", t.Metadata.Annotations, out.Annotations}} {
		for _, k := range slices.Sorted(maps.Keys(m.from)) {
			v, err := render.Execute(ctx, "spec.target.template.metadata."+m.field+"."+k, m.from[k], values)
			if err != nil {
				return out, err
			}
			m.to[k] = v
		}
	}
	// Checked again on what was rendered, whatever validate saw.
	if err := render.PrivilegedSecret(out.Type, out.Annotations, false); err != nil {
		return out, fmt.Errorf("spec.target.template.type: %w", err)
	}
	return out, nil
}

// applyData renders templateFrom, then template.data, into the Secret's
// keys; templateFrom entries that target Labels or Annotations go to out.
func applyData(ctx context.Context, es *render.ExternalSecret, t *render.Template, data map[string]providers.Value, values map[string]string, sources TemplateSources, out *Shaped) (map[string]providers.Value, error) {
	w := dataWriter{result: map[string]providers.Value{}, out: out}
	if t.MergePolicy == "Merge" {
		for k, v := range data {
			w.result[k] = v
		}
	}
	for i, tf := range t.TemplateFrom {
		if err := applyTemplateFrom(ctx, es, fmt.Sprintf("spec.target.template.templateFrom[%d]", i), tf, values, sources, w); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Data)) { // the same first error on every run
		v, err := render.Execute(ctx, "spec.target.template.data."+k, t.Data[k], values)
		if err != nil {
			return nil, err
		}
		w.result[k] = providers.NewValue([]byte(v))
	}
	return w.result, nil
}

// dataWriter puts rendered keys where a templateFrom entry sends them: the
// Secret's data, labels or annotations.
type dataWriter struct {
	result map[string]providers.Value
	out    *Shaped
}

func (w dataWriter) put(target, k, v string) {
	switch target {
	case "Labels":
		w.out.Labels[k] = v
	case "Annotations":
		w.out.Annotations[k] = v
	default:
		w.result[k] = providers.NewValue([]byte(v))
	}
}

// putAll puts a KeysAndValues map, its values decoded; a key can be
// value-made, so the error names only the template.
func (w dataWriter) putAll(tf render.TemplateFrom, name string, kv map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		v, err := decode([]byte(kv[k]), tf.ValuesDecodingStrategy)
		if err != nil {
			return fmt.Errorf("%s: valuesDecodingStrategy %s: a rendered value: %w", name, tf.ValuesDecodingStrategy, err)
		}
		w.put(tf.Into(), k, string(v))
	}
	return nil
}

// applyTemplateFrom renders one templateFrom entry (at field): its literal,
// or each item of its ConfigMap or Secret.
func applyTemplateFrom(ctx context.Context, es *render.ExternalSecret, field string, tf render.TemplateFrom, values map[string]string, sources TemplateSources, w dataWriter) error {
	if tf.Literal != nil {
		kv, err := executeKeysAndValues(ctx, field+".literal", *tf.Literal, values)
		if err != nil {
			return err
		}
		return w.putAll(tf, field+".literal", kv)
	}
	keys, err := templateSource(ctx, sources, es.Namespace, tf)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	ref := tf.ConfigMap
	if ref == nil {
		ref = tf.Secret
	}
	for _, it := range ref.Items {
		body, ok := keys[it.Key]
		if !ok {
			return fmt.Errorf("%s: key %q not found in %s", field, it.Key, ref.Name)
		}
		if it.TemplateAs == "KeysAndValues" {
			kv, err := executeKeysAndValues(ctx, field+"."+it.Key, body, values)
			if err != nil {
				return err
			}
			if err := w.putAll(tf, field+"."+it.Key, kv); err != nil {
				return err
			}
			continue
		}
		v, err := render.Execute(ctx, field+"."+it.Key, body, values)
		if err != nil {
			return err
		}
		d, err := decode([]byte(v), tf.ValuesDecodingStrategy)
		if err != nil {
			return fmt.Errorf("%s.%s: valuesDecodingStrategy %s: %w", field, it.Key, tf.ValuesDecodingStrategy, err)
		}
		w.put(tf.Into(), it.Key, string(d))
	}
	return nil
}

// executeKeysAndValues renders a template whose output is a YAML map of
// keys to values.
func executeKeysAndValues(ctx context.Context, name, body string, values map[string]string) (map[string]string, error) {
	text, err := render.Execute(ctx, name, body, values)
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
func templateSource(ctx context.Context, sources TemplateSources, ns string, tf render.TemplateFrom) (map[string]string, error) {
	if tf.ConfigMap != nil {
		m, err := sources.ConfigMap(ctx, ns, tf.ConfigMap.Name)
		if err != nil {
			return nil, fmt.Errorf("read configmap %s/%s: %w", ns, tf.ConfigMap.Name, err)
		}
		return m, nil
	}
	m, err := sources.Secret(ctx, ns, tf.Secret.Name)
	if err != nil {
		return nil, fmt.Errorf("read secret %s/%s: %w", ns, tf.Secret.Name, err)
	}
	return m, nil
}

// CopyMap returns a copy of m that is never nil.
func CopyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
