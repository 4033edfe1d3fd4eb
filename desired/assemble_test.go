package desired_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// remote is the pass's fetched values by key; a missing key is NotFound.
type remote map[string]string

func (r remote) fetched(_ desired.Entry, ref providers.Ref) providers.Fetched {
	v, ok := r[ref.Key]
	if !ok {
		return providers.Fetched{Err: &providers.Error{Class: providers.NotFound, Ref: ref.Key, Err: errors.New("gone")}}
	}
	return providers.Fetched{Value: providers.NewValue([]byte(v))}
}

func (r remote) found(e desired.Entry) ([]providers.Found, error) {
	var out []providers.Found
	for k := range r {
		if e.Find.Path != nil && strings.HasPrefix(k, *e.Find.Path) {
			out = append(out, providers.Found{Name: k, Ref: providers.Ref{Key: k}})
		}
	}
	return out, nil
}

func TestAssemble(t *testing.T) {
	prefix, none := "app/", "nothing/"
	aws := &render.SecretStore{}
	aws.Kind, aws.Namespace, aws.Name = render.KindSecretStore, "apps", "aws"
	aws.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
	stores := map[desired.StoreKey]*render.SecretStore{{Kind: render.KindSecretStore, Namespace: "apps", Name: "aws"}: aws}
	r := remote{
		"app/db":   `{"user":"admin","password":"pw-seeded","nested":{"a":1}}`,
		"app/b64":  "aGVsbG8=",
		"app/with": "LEAKCANARY not json",
	}
	spec := func(mod func(*render.ExternalSecret)) *render.ExternalSecret {
		e := &render.ExternalSecret{}
		e.Namespace, e.Name = "apps", "x"
		e.Spec.SecretStoreRef = render.SecretStoreRef{Name: "aws"}
		mod(e)
		return e
	}
	cases := []struct {
		name    string
		es      *render.ExternalSecret
		want    map[string]string
		wantErr string
	}{
		{"a property of a JSON value", spec(func(e *render.ExternalSecret) {
			e.Spec.Data = []render.Data{{SecretKey: "pw", RemoteRef: render.RemoteRef{Key: "app/db", Property: "password"}}}
		}), map[string]string{"pw": "pw-seeded"}, ""},
		{"Base64 decoding", spec(func(e *render.ExternalSecret) {
			e.Spec.Data = []render.Data{{SecretKey: "v", RemoteRef: render.RemoteRef{Key: "app/b64", DecodingStrategy: "Base64"}}}
		}), map[string]string{"v": "hello"}, ""},
		{"extract keeps nested JSON as text, and data wins over dataFrom", spec(func(e *render.ExternalSecret) {
			e.Spec.DataFrom = []render.DataFrom{{Extract: &render.RemoteRef{Key: "app/db"}}}
			e.Spec.Data = []render.Data{{SecretKey: "user", RemoteRef: render.RemoteRef{Key: "app/b64"}}}
		}), map[string]string{"user": "aGVsbG8=", "password": "pw-seeded", "nested": `{"a":1}`}, ""},
		{"find by path, with a regexp rewrite", spec(func(e *render.ExternalSecret) {
			e.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: &prefix}, Rewrite: []render.Rewrite{{Regexp: &render.RewriteRegexp{Source: "app/(.*)", Target: "k-$1"}}}}}
		}), map[string]string{"k-db": r["app/db"], "k-b64": "aGVsbG8=", "k-with": r["app/with"]}, ""},
		// As ESO, a transform has the whole template function set.
		{"find by path, with a transform using template functions", spec(func(e *render.ExternalSecret) {
			e.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: &prefix}, Rewrite: []render.Rewrite{{Transform: &render.RewriteTransform{Template: `{{ .value | trimPrefix "app/" | snakecase | printf "%s_KEY" }}`}}}}}
		}), map[string]string{"db_KEY": r["app/db"], "b64_KEY": "aGVsbG8=", "with_KEY": r["app/with"]}, ""},
		{"a property of a value that is not JSON names the entry, not the value", spec(func(e *render.ExternalSecret) {
			e.Spec.Data = []render.Data{{SecretKey: "v", RemoteRef: render.RemoteRef{Key: "app/with", Property: "p"}}}
		}), nil, `spec.data[0]: app/with: property "p" asked of a value that is not JSON`},
		{"a gone source fails under Retain", spec(func(e *render.ExternalSecret) {
			e.Spec.Data = []render.Data{{SecretKey: "v", RemoteRef: render.RemoteRef{Key: "app/gone"}}}
		}), nil, "spec.data[0]: NotFound app/gone"},
		{"a gone source is dropped under Merge", spec(func(e *render.ExternalSecret) {
			e.Spec.Target.DeletionPolicy = "Merge"
			e.Spec.Data = []render.Data{{SecretKey: "v", RemoteRef: render.RemoteRef{Key: "app/gone"}}, {SecretKey: "w", RemoteRef: render.RemoteRef{Key: "app/b64"}}}
		}), map[string]string{"w": "aGVsbG8="}, ""},
		{"every source gone under Delete", spec(func(e *render.ExternalSecret) {
			e.Spec.Target.DeletionPolicy = "Delete"
			e.Spec.Data = []render.Data{{SecretKey: "v", RemoteRef: render.RemoteRef{Key: "app/gone"}}}
		}), nil, desired.ErrAllGone.Error()},
		{"a find that matches nothing under Retain keeps the Secret", spec(func(e *render.ExternalSecret) {
			e.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: &none}}}
		}), nil, desired.ErrRetained.Error()},
		{"a find that matches nothing under Delete deletes it", spec(func(e *render.ExternalSecret) {
			e.Spec.Target.DeletionPolicy = "Delete"
			e.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: &none}}}
		}), nil, desired.ErrAllGone.Error()},
		{"a find that matches nothing under Merge writes no keys", spec(func(e *render.ExternalSecret) {
			e.Spec.Target.DeletionPolicy = "Merge"
			e.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: &none}}}
		}), map[string]string{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := desired.Assemble(c.es, desired.Entries(c.es, stores), r.found, r.fetched, nil)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "LEAKCANARY") {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, plain(got)); diff != "" {
				t.Fatalf("data (-want +got):\n%s", diff)
			}
		})
	}
}
