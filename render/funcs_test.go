package render_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/render"
)

func TestTemplateFuncs(t *testing.T) {
	const pemIn = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"
	cases := []struct{ name, body, want string }{
		{"sprig is there", `{{ "a" | upper | b64enc | b64dec }}`, "A"},
		{"toJson and fromJson", `{{ (fromJson .j).k }}-{{ toJson (dict "x" 1) }}`, `v-{"x":1}`},
		{"filterPEM keeps one block type", `{{ filterPEM "PRIVATE KEY" .pem }}`, "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := render.ParseTemplate("t", c.body)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := tpl.Execute(&b, map[string]string{"j": `{"k":"v"}`, "pem": pemIn}); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("got %q, want %q", b.String(), c.want)
			}
		})
	}
	for _, fn := range []string{"env", "expandenv"} {
		t.Run(fn+" is not available", func(t *testing.T) {
			if _, err := render.ParseTemplate("t", "{{ "+fn+` "HOME" }}`); err == nil {
				t.Fatalf("%s parsed", fn)
			}
		})
	}
}
