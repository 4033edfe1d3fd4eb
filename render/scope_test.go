package render_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/render"
)

func TestScopeIsTheObjectsOwnNamespaceOrWhatAClusterStoreNamesOrServes(t *testing.T) {
	cases := []struct {
		name  string
		asker render.Asker
		named string
		want  string // the namespace read; "" for a refusal
	}{
		{"a SecretStore's reference without namespace reads its own", render.Asker{Kind: render.KindSecretStore, Namespace: "a", Name: "s"}, "", "a"},
		{"a SecretStore may name its own namespace", render.Asker{Kind: render.KindSecretStore, Namespace: "a", Name: "s"}, "a", "a"},
		{"a SecretStore may not name another", render.Asker{Kind: render.KindSecretStore, Namespace: "a", Name: "s"}, "b", ""},
		{"an ExternalSecret reads its own namespace", render.Asker{Kind: render.KindExternalSecret, Namespace: "a", Name: "e"}, "", "a"},
		{"an ExternalSecret may not name another", render.Asker{Kind: render.KindExternalSecret, Namespace: "a", Name: "e"}, "b", ""},
		{"a generator reads its own namespace", render.Asker{Kind: render.KindSTSSessionToken, Namespace: "a", Name: "g"}, "a", "a"},
		{"a generator may not name another", render.Asker{Kind: render.KindSTSSessionToken, Namespace: "a", Name: "g"}, "b", ""},
		{"a namespaced kind without a namespace reads nothing", render.Asker{Kind: render.KindExternalSecret, Name: "e"}, "", ""},
		{"a ClusterSecretStore reads the namespace it names", render.Asker{Kind: render.KindClusterSecretStore, Name: "c"}, "b", "b"},
		{"a ClusterSecretStore that names none reads the served ExternalSecret's namespace (referent auth)", render.Asker{Kind: render.KindClusterSecretStore, Name: "c", Serving: "a"}, "", "a"},
		{"a ClusterSecretStore that names one reads it, whatever it serves", render.Asker{Kind: render.KindClusterSecretStore, Name: "c", Serving: "a"}, "b", "b"},
		{"a ClusterSecretStore that names none, serving no ExternalSecret, reads nothing", render.Asker{Kind: render.KindClusterSecretStore, Name: "c"}, "", ""},
		{"a served namespace does not widen a SecretStore's scope", render.Asker{Kind: render.KindSecretStore, Namespace: "a", Name: "s", Serving: "b"}, "b", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.asker.Scope(c.named)
			if c.want == "" {
				if err == nil || !errors.Is(err, render.ErrOutOfScope) {
					t.Fatalf("Scope(%q) = %q, %v; want a refusal", c.named, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Scope(%q) = %q, %v; want %q", c.named, got, err, c.want)
			}
		})
	}
}

// TestValidateRefusesEveryOutOfScopeReference: each reference a store or a
// generator makes outside its scope is an error naming the file, the object
// and the field, and the object beside it is kept.
func TestValidateRefusesEveryOutOfScopeReference(t *testing.T) {
	const sts = "apiVersion: generators.external-secrets.io/v1alpha1\nkind: STSSessionToken\nmetadata: {name: g, namespace: a}\nspec:\n  region: us-east-1\n  auth: "
	const ecr = "apiVersion: generators.external-secrets.io/v1alpha1\nkind: ECRAuthorizationToken\nmetadata: {name: g, namespace: a}\nspec:\n  region: us-east-1\n  auth: "
	const ss = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s, namespace: a}\nspec:\n  provider:\n    aws:\n      service: SecretsManager\n      auth: "
	const css = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: c}\nspec:\n  provider:\n    aws:\n      service: SecretsManager\n      auth: "
	cases := []struct{ name, file, want string }{
		{"an STSSessionToken's access key in another namespace", sts + "{secretRef: {accessKeyIDSecretRef: {name: k, key: id, namespace: b}, secretAccessKeySecretRef: {name: k, key: s, namespace: b}}}\n",
			"x.yaml: STSSessionToken a/g: spec.auth.secretRef.accessKeyIDSecretRef.namespace: out of scope: STSSessionToken a/g may only read its own namespace a, not b"},
		{"an ECRAuthorizationToken's session token in another namespace", ecr + "{secretRef: {accessKeyIDSecretRef: {name: k, key: id}, secretAccessKeySecretRef: {name: k, key: s}, sessionTokenSecretRef: {name: k, key: t, namespace: b}}}\n",
			"x.yaml: ECRAuthorizationToken a/g: spec.auth.secretRef.sessionTokenSecretRef.namespace: out of scope"},
		{"a generator's service account in another namespace", sts + "{jwt: {serviceAccountRef: {name: sa, namespace: b}}}\n",
			"x.yaml: STSSessionToken a/g: spec.auth.jwt.serviceAccountRef.namespace: out of scope"},
		{"a SecretStore's secret in another namespace", ss + "{secretRef: {accessKeyIDSecretRef: {name: k, key: id}, secretAccessKeySecretRef: {name: k, key: s, namespace: b}}}\n",
			"x.yaml: SecretStore a/s: spec.provider.aws.auth.secretRef.secretAccessKeySecretRef.namespace: out of scope: SecretStore a/s may only read its own namespace a, not b"},
		{"a SecretStore's service account in another namespace", ss + "{jwt: {serviceAccountRef: {name: sa, namespace: b}}}\n",
			"x.yaml: SecretStore a/s: spec.provider.aws.auth.jwt.serviceAccountRef.namespace: out of scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tree(t, map[string]string{"x.yaml": c.file, "ok.yaml": es("fine", "k")})
			set := mustRender(t, dir, ".")
			errs := errorTexts(set)
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Fatalf("errors = %q, want one containing %q", errs, c.want)
			}
			if len(set.ExternalSecrets) != 1 || len(set.Generators)+len(set.Stores) != 0 {
				t.Fatalf("kept %+v; want only the good ExternalSecret", summarize(set))
			}
		})
	}
	t.Run("references in the object's own namespace, named by a ClusterSecretStore, or left to a ClusterSecretStore's served namespace are accepted", func(t *testing.T) {
		dir := tree(t, map[string]string{
			"gen.yaml":          sts + "{secretRef: {accessKeyIDSecretRef: {name: k, key: id, namespace: a}, secretAccessKeySecretRef: {name: k, key: s}}}\n",
			"store.yaml":        ss + "{jwt: {serviceAccountRef: {name: sa, namespace: a}}}\n",
			"css.yaml":          css + "{jwt: {serviceAccountRef: {name: sa, namespace: b}}}\n",
			"referent-jwt.yaml": strings.Replace(css, "name: c", "name: referent-jwt", 1) + "{jwt: {serviceAccountRef: {name: sa}}}\n",
			"referent-key.yaml": strings.Replace(css, "name: c", "name: referent-key", 1) + "{secretRef: {accessKeyIDSecretRef: {name: k, key: id, namespace: b}, secretAccessKeySecretRef: {name: k, key: s}}}\n",
		})
		set := mustRender(t, dir, ".")
		if errs := errorTexts(set); len(errs) != 0 || len(set.Generators) != 1 || len(set.Stores) != 4 {
			t.Fatalf("errors %q, %d generators, %d stores", errs, len(set.Generators), len(set.Stores))
		}
	})
}

// TestReferentIsAClusterStoreReferenceNamingNoNamespace: as ESO's
// IsReferentSpec, a ClusterSecretStore is referent when any of its auth
// references (service account, access key, secret key, session token)
// names no namespace; a SecretStore, or a ClusterSecretStore naming every
// namespace or using no auth, is not.
func TestReferentIsAClusterStoreReferenceNamingNoNamespace(t *testing.T) {
	sel := func(ns string) render.SecretKeySelector {
		return render.SecretKeySelector{Name: "k", Key: "x", Namespace: ns}
	}
	store := func(kind string, auth render.AWSAuth) *render.SecretStore {
		st := &render.SecretStore{Spec: render.SecretStoreSpec{Provider: render.Provider{AWS: &render.AWSProvider{Service: "SecretsManager", Auth: auth}}}}
		st.Kind, st.Name = kind, "s"
		if kind == render.KindSecretStore {
			st.Namespace = "a"
		}
		return st
	}
	withPolicy := func(st *render.SecretStore, policy string) *render.SecretStore {
		st.Spec.Provider.AWS.SessionTagsPolicy = policy
		return st
	}
	none, named := sel(""), sel("b")
	cases := []struct {
		name string
		st   *render.SecretStore
		want bool
	}{
		{"no auth", store(render.KindClusterSecretStore, render.AWSAuth{}), false},
		{"every reference named", store(render.KindClusterSecretStore, render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{AccessKeyID: named, SecretAccessKey: named, SessionToken: &named}}), false},
		{"the access key unnamed", store(render.KindClusterSecretStore, render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{AccessKeyID: none, SecretAccessKey: named}}), true},
		{"the session token unnamed", store(render.KindClusterSecretStore, render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{AccessKeyID: named, SecretAccessKey: named, SessionToken: &none}}), true},
		{"the service account unnamed", store(render.KindClusterSecretStore, render.AWSAuth{JWT: &render.AWSJWTAuth{ServiceAccountRef: &render.ServiceAccountSelector{Name: "sa"}}}), true},
		{"the service account named", store(render.KindClusterSecretStore, render.AWSAuth{JWT: &render.AWSJWTAuth{ServiceAccountRef: &render.ServiceAccountSelector{Name: "sa", Namespace: "b"}}}), false},
		{"a SecretStore naming none", store(render.KindSecretStore, render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{AccessKeyID: none, SecretAccessKey: none}}), false},
		// ESO's sessionTagsPolicy tags the session with the served
		// ExternalSecret's namespace: a provider per served namespace.
		{"sessionTagsPolicy Simple", withPolicy(store(render.KindClusterSecretStore, render.AWSAuth{}), "Simple"), true},
		{"sessionTagsPolicy Custom", withPolicy(store(render.KindClusterSecretStore, render.AWSAuth{}), "Custom"), true},
		{"sessionTagsPolicy None", withPolicy(store(render.KindClusterSecretStore, render.AWSAuth{}), "None"), false},
		{"a SecretStore with sessionTagsPolicy Simple", withPolicy(store(render.KindSecretStore, render.AWSAuth{}), "Simple"), false},
	}
	for _, c := range cases {
		if got := render.Referent(c.st); got != c.want {
			t.Errorf("%s: Referent = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestPrivilegedSecretTypesAreRefused follows ESO 2.9.0's validator: a
// bootstrap token, and a service-account token whose template names the
// service account or lets templateFrom set annotations, are refused by
// name; a service-account-token type alone, and other types, are not.
func TestPrivilegedSecretTypesAreRefused(t *testing.T) {
	withTemplate := func(tpl string) string {
		return strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: "+tpl+"}\n", 1)
	}
	cases := []struct{ name, template, want string }{
		{"a service-account token naming its service account", "{type: kubernetes.io/service-account-token, metadata: {annotations: {kubernetes.io/service-account.name: default}}}",
			"x.yaml: ExternalSecret default/x: spec.target.template.type: type kubernetes.io/service-account-token with annotation kubernetes.io/service-account.name is refused"},
		{"a service-account token naming it through a template", "{type: kubernetes.io/service-account-token, metadata: {annotations: {kubernetes.io/service-account.name: '{{ .value }}'}}}",
			"spec.target.template.type: type kubernetes.io/service-account-token with annotation"},
		{"a service-account token with templateFrom targeting Annotations", "{type: kubernetes.io/service-account-token, templateFrom: [{target: Annotations, literal: 'a: b'}]}",
			"spec.target.template.type: type kubernetes.io/service-account-token with a templateFrom that targets Annotations is refused"},
		{"a service-account token with templateFrom targeting annotations, in any case", "{type: kubernetes.io/service-account-token, templateFrom: [{target: annotations, literal: 'a: b'}]}",
			"spec.target.template.type: type kubernetes.io/service-account-token with a templateFrom that targets Annotations is refused"},
		{"a bootstrap token", "{type: bootstrap.kubernetes.io/token}",
			"spec.target.template.type: type bootstrap.kubernetes.io/token is refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tree(t, map[string]string{"x.yaml": withTemplate(c.template), "ok.yaml": es("fine", "k")})
			set := mustRender(t, dir, ".")
			errs := errorTexts(set)
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Fatalf("errors = %q, want one containing %q", errs, c.want)
			}
			if len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Name != "fine" {
				t.Fatalf("kept %+v", summarize(set))
			}
		})
	}
	for _, tpl := range []string{"{type: kubernetes.io/service-account-token}", "{type: kubernetes.io/dockerconfigjson, metadata: {annotations: {kubernetes.io/service-account.name: x}}}"} {
		dir := tree(t, map[string]string{"x.yaml": withTemplate(tpl)})
		if errs := errorTexts(mustRender(t, dir, ".")); len(errs) != 0 {
			t.Fatalf("template %s: errors %q", tpl, errs)
		}
	}
}
