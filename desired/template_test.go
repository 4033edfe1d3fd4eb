package desired_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// sources is templateFrom's ConfigMaps and Secrets, in memory.
type sources map[string]map[string]string

func (s sources) ConfigMap(_ context.Context, ns, name string) (map[string]string, error) {
	return s.get("configmap/" + ns + "/" + name)
}

func (s sources) Secret(_ context.Context, ns, name string) (map[string]string, error) {
	return s.get("secret/" + ns + "/" + name)
}

func (s sources) get(k string) (map[string]string, error) {
	if m, ok := s[k]; ok {
		return m, nil
	}
	return nil, errors.New("not found")
}

func withTemplate(t *render.Template) *render.ExternalSecret {
	e := &render.ExternalSecret{}
	e.Namespace, e.Name = "apps", "db"
	e.Labels = map[string]string{"team": "payments"}
	e.Spec.Target.Template = t
	return e
}

func values(kv ...string) map[string]providers.Value {
	out := map[string]providers.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = providers.NewValue([]byte(kv[i+1]))
	}
	return out
}

func plain(m map[string]providers.Value) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v.Bytes())
	}
	return out
}

func TestApplyTemplate(t *testing.T) {
	literal := "user: '{{ .user | upper }}'"
	src := sources{
		"configmap/apps/tpl": {"dsn": "postgres://{{ .user }}:{{ .password }}@db", "pairs": "a: '{{ .user }}'\nb: fixed"},
		"secret/apps/tpl":    {"token": "t-{{ .password }}"},
	}
	cases := []struct {
		name        string
		tpl         *render.Template
		want        map[string]string
		wantType    string
		wantLabels  map[string]string
		wantErrText string
	}{
		// As ESO: without a template, the ExternalSecret's own labels (and
		// annotations) are the Secret's; with one, only the template's.
		{"no template keeps the values and the ExternalSecret's labels", nil, map[string]string{"user": "u", "password": "p", "json": `{"b":"x","a":1}`}, "Opaque", map[string]string{"team": "payments"}, ""},
		{"template data replaces the values", &render.Template{Data: map[string]string{"dsn": "{{ .user }}@{{ .password }}"}},
			map[string]string{"dsn": "u@p"}, "Opaque", map[string]string{}, ""},
		{"mergePolicy Merge keeps the values under the templated keys", &render.Template{MergePolicy: "Merge", Data: map[string]string{"user": "x-{{ .user }}"}},
			map[string]string{"user": "x-u", "password": "p", "json": `{"b":"x","a":1}`}, "Opaque", map[string]string{}, ""},
		{"a type, and a template with metadata only, keeps the values", &render.Template{Type: "kubernetes.io/basic-auth"},
			map[string]string{"user": "u", "password": "p", "json": `{"b":"x","a":1}`}, "kubernetes.io/basic-auth", map[string]string{}, ""},
		{"templateFrom a ConfigMap, Values and KeysAndValues",
			&render.Template{TemplateFrom: []render.TemplateFrom{{ConfigMap: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "dsn"}, {Key: "pairs", TemplateAs: "KeysAndValues"}}}}}},
			map[string]string{"dsn": "postgres://u:p@db", "a": "u", "b": "fixed"}, "Opaque", map[string]string{}, ""},
		{"templateFrom a Secret", &render.Template{TemplateFrom: []render.TemplateFrom{{Secret: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "token"}}}}}},
			map[string]string{"token": "t-p"}, "Opaque", map[string]string{}, ""},
		{"a literal into labels", &render.Template{TemplateFrom: []render.TemplateFrom{{Literal: &literal, Target: "Labels"}}},
			map[string]string{}, "Opaque", map[string]string{"user": "U"}, ""},
		{"a literal into labels, the target matched in any case as ESO does", &render.Template{TemplateFrom: []render.TemplateFrom{{Literal: &literal, Target: "lAbElS"}}},
			map[string]string{}, "Opaque", map[string]string{"user": "U"}, ""},
		{"metadata labels are templates, rendered with the values", &render.Template{Metadata: render.TemplateMetadata{Labels: map[string]string{"user": "{{ .user | upper }}", "fixed": "f"}}},
			map[string]string{"user": "u", "password": "p", "json": `{"b":"x","a":1}`}, "Opaque", map[string]string{"user": "U", "fixed": "f"}, ""},
		{"metadata labels win over templateFrom's", &render.Template{Metadata: render.TemplateMetadata{Labels: map[string]string{"user": "meta"}},
			TemplateFrom: []render.TemplateFrom{{Literal: &literal, Target: "Labels"}}},
			map[string]string{}, "Opaque", map[string]string{"user": "meta"}, ""},
		{"toYaml has no trailing newline", &render.Template{Data: map[string]string{"y": "[{{ fromJson .json | toYaml }}]"}},
			map[string]string{"y": "[a: 1\nb: x]"}, "Opaque", map[string]string{}, ""},
		{"a missing templateFrom key names the key", &render.Template{TemplateFrom: []render.TemplateFrom{{ConfigMap: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "nope"}}}}}},
			nil, "", nil, `key "nope" not found in tpl`},
		{"a missing ConfigMap names it", &render.Template{TemplateFrom: []render.TemplateFrom{{ConfigMap: &render.TemplateRef{Name: "gone", Items: []render.TemplateRefItem{{Key: "x"}}}}}},
			nil, "", nil, "read configmap apps/gone"},
		{"the first failing key is the same on every run", &render.Template{Data: map[string]string{"b": "{{ .nope }}", "a": "{{ .nope }}", "c": "{{ .nope }}"}},
			nil, "", nil, "template spec.target.template.data.a:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := desired.ApplyTemplate(context.Background(), withTemplate(c.tpl), values("user", "u", "password", "p", "json", `{"b":"x","a":1}`), src)
			if c.wantErrText != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErrText) {
					t.Fatalf("err = %v, want %q", err, c.wantErrText)
				}
				if strings.Contains(err.Error(), "postgres://") {
					t.Fatal("the error holds a rendered value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, plain(got.Data)); diff != "" {
				t.Fatalf("data (-want +got):\n%s", diff)
			}
			if got.Type != c.wantType {
				t.Fatalf("type %q, want %q", got.Type, c.wantType)
			}
			if diff := cmp.Diff(c.wantLabels, desired.CopyMap(got.Labels)); diff != "" {
				t.Fatalf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTheRenderedSecretIsCheckedForPrivilegedTypes: whatever validate saw
// (a spec built in code here, never decoded), the build refuses a
// service-account token whose rendered annotations name a service account,
// and a bootstrap token, and says so without the value.
func TestTheRenderedSecretIsCheckedForPrivilegedTypes(t *testing.T) {
	for _, tpl := range []*render.Template{
		{Type: render.SecretTypeServiceAccountToken, Metadata: render.TemplateMetadata{Annotations: map[string]string{render.AnnotationServiceAccountName: "{{ .sa }}"}}},
		{Type: render.SecretTypeBootstrapToken},
	} {
		_, err := desired.ApplyTemplate(context.Background(), withTemplate(tpl), values("sa", "privileged-canary-seeded"), sources{})
		if err == nil || !strings.Contains(err.Error(), "spec.target.template.type: type "+tpl.Type) || strings.Contains(err.Error(), "privileged-canary-seeded") {
			t.Fatalf("type %s: err %v", tpl.Type, err)
		}
	}
	if _, err := desired.ApplyTemplate(context.Background(), withTemplate(&render.Template{Type: render.SecretTypeServiceAccountToken}), values("sa", "x"), sources{}); err != nil {
		t.Fatalf("a token type that names no service account: %v", err)
	}
}
