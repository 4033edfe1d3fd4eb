package desired_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

func clusterStore(conds ...render.StoreCondition) *render.SecretStore {
	st := &render.SecretStore{}
	st.Kind, st.Name = render.KindClusterSecretStore, "shared"
	st.Spec.Conditions = conds
	return st
}

func TestServes(t *testing.T) {
	team := labels.Set{"team": "a"}
	byLabel := render.StoreCondition{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}
	nsLabels := func(ns string) (labels.Set, error) {
		if ns == "apps" {
			return team, nil
		}
		if ns == "gone" {
			return nil, errors.New("namespaces \"gone\" not found")
		}
		return labels.Set{}, nil
	}
	ownStore := &render.SecretStore{}
	ownStore.Kind, ownStore.Namespace, ownStore.Name = render.KindSecretStore, "apps", "aws"
	cases := []struct {
		name    string
		st      *render.SecretStore
		ns      string
		labels  desired.NamespaceLabels
		want    bool
		wantErr string
	}{
		{"a SecretStore serves its own namespace", ownStore, "apps", nil, true, ""},
		{"a SecretStore serves no other", ownStore, "web", nil, false, ""},
		{"a ClusterSecretStore without conditions serves all", clusterStore(), "web", nil, true, ""},
		{"a listed namespace matches", clusterStore(render.StoreCondition{Namespaces: []string{"web"}}), "web", nil, true, ""},
		{"a regexp matches", clusterStore(render.StoreCondition{NamespaceRegexes: []string{"^team-"}}), "team-x", nil, true, ""},
		{"nothing matches", clusterStore(render.StoreCondition{Namespaces: []string{"web"}}), "apps", nil, false, ""},
		{"a selector matches the namespace's labels", clusterStore(byLabel), "apps", nsLabels, true, ""},
		{"a selector that does not match", clusterStore(byLabel), "web", nsLabels, false, ""},
		{"a selector offline is given the benefit of the doubt", clusterStore(byLabel), "web", nil, true, ""},
		{"a namespace that cannot be read is an error naming it", clusterStore(byLabel), "gone", nsLabels, false, "read namespace gone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := desired.Serves(c.st, c.ns, c.labels)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestStoreProblem(t *testing.T) {
	kms := &render.SecretStore{}
	kms.Kind, kms.Namespace, kms.Name = render.KindSecretStore, "apps", "kms"
	kms.Spec.Provider.AWS = &render.AWSProvider{Service: "KMS"}
	acm := &render.SecretStore{}
	acm.Kind, acm.Namespace, acm.Name = render.KindSecretStore, "apps", "acm"
	acm.Spec.Provider.AWS = &render.AWSProvider{Service: "CertificateManager"}
	cases := []struct {
		name     string
		st       *render.SecretStore
		dataFrom bool
		want     string
	}{
		{"a store not rendered", nil, false, "SecretStore/apps/x is not in the rendered manifests"},
		{"a KMS store for dataFrom", kms, true, "is a KMS store: ciphertext is bound to one key, so use data[], not dataFrom"},
		{"a KMS store for data", kms, false, ""},
		{"a CertificateManager store for dataFrom", acm, true, "is a CertificateManager store: a certificate is one PEM bundle, so use data[], not dataFrom"},
		{"a CertificateManager store for data", acm, false, ""},
		{"a store that does not serve the namespace", clusterStore(render.StoreCondition{Namespaces: []string{"web"}}), false, "does not serve namespace apps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := desired.StoreProblem(c.st, desired.StoreKey{Kind: render.KindSecretStore, Namespace: "apps", Name: "x"}, "apps", c.dataFrom, nil)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func es(name, target, policy string, keys ...string) *render.ExternalSecret {
	e := &render.ExternalSecret{}
	e.Namespace, e.Name, e.Source = "apps", name, name+".yaml"
	e.Spec.Target.Name, e.Spec.Target.CreationPolicy = target, policy
	for _, k := range keys {
		e.Spec.Data = append(e.Spec.Data, render.Data{SecretKey: k})
	}
	return e
}

func TestConflicts(t *testing.T) {
	cases := []struct {
		name string
		set  []*render.ExternalSecret
		want []string
	}{
		{"two owners of one Secret", []*render.ExternalSecret{es("a", "s", "", "k"), es("b", "s", "Orphan", "j")},
			[]string{"secret apps/s is written by 2 ExternalSecrets, and each writes it whole: apps/a (a.yaml), apps/b (b.yaml)"}},
		{"two merges of one key", []*render.ExternalSecret{es("a", "s", "Merge", "k"), es("b", "s", "CreateOrMerge", "k", "j")},
			[]string{`secret apps/s is written by 2 ExternalSecrets, and each writes key "k": apps/a (a.yaml), apps/b (b.yaml)`}},
		{"merges of different keys share a Secret", []*render.ExternalSecret{es("a", "s", "Merge", "k"), es("b", "s", "Merge", "j")}, nil},
		{"one owner and merges of other keys", []*render.ExternalSecret{es("a", "s", "", "k"), es("b", "s", "Merge", "j")}, nil},
		{"None writes nothing", []*render.ExternalSecret{es("a", "s", "", "k"), es("b", "s", "None", "k")}, nil},
		{"different Secrets", []*render.ExternalSecret{es("a", "s", "", "k"), es("b", "t", "", "k")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, cf := range desired.Conflicts(&render.Set{ExternalSecrets: c.set}) {
				got = append(got, cf.Error())
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Fatalf("conflicts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	aws := &render.SecretStore{}
	aws.Kind, aws.Namespace, aws.Name = render.KindSecretStore, "apps", "aws"
	aws.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
	set := &render.Set{
		Stores: []*render.SecretStore{aws},
		ExternalSecrets: []*render.ExternalSecret{
			es("ok", "ok", "", "k"), es("one", "shared", "", "k"), es("two", "shared", "", "k"),
		},
		Errors: []*render.ObjectError{{Kind: render.KindSecretStore, Namespace: "apps", Name: "vault", Err: errors.New("provider vault is not supported")}},
	}
	for _, e := range set.ExternalSecrets {
		e.Spec.SecretStoreRef.Name = "aws"
	}
	usesVault := es("vault-user", "v", "", "k")
	usesVault.Spec.SecretStoreRef.Name = "vault"
	elsewhere := es("far", "far", "", "k")
	elsewhere.Namespace = "other"
	elsewhere.Spec.SecretStoreRef.Name = "aws"
	set.ExternalSecrets = append(set.ExternalSecrets, usesVault, elsewhere)

	got := map[string][]string{}
	for _, it := range desired.Compile(set, desired.Options{Namespaces: []string{"apps"}}) {
		for _, p := range it.Problems {
			got[it.ES.Name] = append(got[it.ES.Name], p.Error())
		}
	}
	want := map[string][]string{
		"one":        {"spec.target: secret apps/shared is written by 2 ExternalSecrets, and each writes it whole: apps/one (one.yaml), apps/two (two.yaml)"},
		"two":        {"spec.target: secret apps/shared is written by 2 ExternalSecrets, and each writes it whole: apps/one (one.yaml), apps/two (two.yaml)"},
		"vault-user": {"spec.data[0]: SecretStore/apps/vault is invalid; its own error says why"},
		"far": {"metadata.namespace: namespace other is not one secretsync may write to (--namespaces apps)",
			"spec.data[0]: SecretStore/other/aws is not in the rendered manifests"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
}

// TestEntriesOfAReferentStoreCarryTheirNamespace: an entry served by a
// referent ClusterSecretStore (a reference naming no namespace) carries its
// ExternalSecret's namespace, so two namespaces' entries never share a
// provider or a fetch; entries of a ClusterSecretStore naming its
// namespaces, and of a SecretStore, carry none and stay shared.
func TestEntriesOfAReferentStoreCarryTheirNamespace(t *testing.T) {
	aws := func(auth render.AWSAuth) render.Provider {
		return render.Provider{AWS: &render.AWSProvider{Service: "SecretsManager", Auth: auth}}
	}
	unnamed := render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{AccessKeyID: render.SecretKeySelector{Name: "c", Key: "id"}, SecretAccessKey: render.SecretKeySelector{Name: "c", Key: "s"}}}
	named := render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{AccessKeyID: render.SecretKeySelector{Name: "c", Key: "id", Namespace: "creds"}, SecretAccessKey: render.SecretKeySelector{Name: "c", Key: "s", Namespace: "creds"}}}
	referent, explicit := clusterStore(), clusterStore()
	referent.Name, referent.Spec.Provider = "referent", aws(unnamed)
	explicit.Name, explicit.Spec.Provider = "explicit", aws(named)
	own := &render.SecretStore{Spec: render.SecretStoreSpec{Provider: aws(unnamed)}}
	own.Kind, own.Namespace, own.Name = render.KindSecretStore, "apps", "own"
	stores := map[desired.StoreKey]*render.SecretStore{}
	for _, st := range []*render.SecretStore{referent, explicit, own} {
		stores[desired.StoreKeyOf(st.Kind, st.Namespace, st.Name)] = st
	}
	for _, c := range []struct {
		kind, name, want string
	}{
		{render.KindClusterSecretStore, "referent", "apps"},
		{render.KindClusterSecretStore, "explicit", ""},
		{render.KindSecretStore, "own", ""},
	} {
		e := es("e", "s", "", "k")
		e.Spec.SecretStoreRef = render.SecretStoreRef{Kind: c.kind, Name: c.name}
		e.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: new("p")}}}
		entries := desired.Entries(e, stores)
		if len(entries) != 2 {
			t.Fatalf("%s: %d entries", c.name, len(entries))
		}
		for _, en := range entries {
			if en.Serving != c.want {
				t.Errorf("%s: %s serves %q, want %q", c.name, en.Field, en.Serving, c.want)
			}
		}
	}
}
