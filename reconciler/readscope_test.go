package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/stsserver"
	"github.com/secretsync/secretsync/reconciler"
)

// otherNamespace makes a namespace beside the fixture's, holding one
// Secret of AWS keys and one service account with a role, as another team's.
func otherNamespace(t *testing.T, f *fixture) (ns string) {
	t.Helper()
	ctx := context.Background()
	ns = "other-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-creds", Namespace: ns},
		Data: map[string][]byte{"id": []byte("AKIAOTHERTEAMSEEDED1"), "secret": []byte("other-team-secret-key-seeded")}}
	if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, creds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.remember("other-team-secret-key-seeded")
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/other-team"}}}
	if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestAGeneratorCannotReadAnotherNamespacesCredentials is issue 23's
// reproduction: an STSSessionToken generator in namespace A whose
// auth.secretRef names a Secret of namespace B. With --namespaces A the
// pass refuses it by name, never reads B's Secret (no GET reaches the API
// server), never calls STS, and still applies A's other ExternalSecret.
// The same holds for a generator whose jwt names B's service account.
func TestAGeneratorCannotReadAnotherNamespacesCredentials(t *testing.T) {
	for _, c := range []struct {
		name, auth, field, path string
	}{
		{"secretRef", `{secretRef: {accessKeyIDSecretRef: {name: aws-creds, key: id, namespace: %[1]s}, secretAccessKeySecretRef: {name: aws-creds, key: secret, namespace: %[1]s}}}`,
			"spec.auth.secretRef.accessKeyIDSecretRef.namespace", "/api/v1/namespaces/%s/secrets/aws-creds"},
		{"jwt", `{jwt: {serviceAccountRef: {name: deployer, namespace: %[1]s}}}`,
			"spec.auth.jwt.serviceAccountRef.namespace", "/api/v1/namespaces/%s/serviceaccounts/deployer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			other := otherNamespace(t, f)
			f.rec = f.newReconciler(func(cfg *reconciler.Config) { cfg.Namespaces = []string{f.ns} })
			f.seed("k/fine", "scope-fine-value-seeded")
			gen := fmt.Sprintf(`apiVersion: generators.external-secrets.io/v1alpha1
kind: STSSessionToken
metadata: {name: session, namespace: %s}
spec:
  region: us-east-1
  auth: %s
`, f.ns, fmt.Sprintf(c.auth, other))
			stolen := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: stolen, namespace: %s}
spec:
  dataFrom: [{sourceRef: {generatorRef: {kind: STSSessionToken, name: session}}}]
`, f.ns)
			f.commit(map[string]string{"store.yaml": f.store(), "gen.yaml": gen, "stolen.yaml": stolen, "fine.yaml": f.es("fine", "v=k/fine")})
			f.counter.Reset()
			res := f.pass()
			if res.OK() {
				t.Fatal("the pass accepted a generator that reads another namespace")
			}
			all := fmt.Sprint(res.Errors)
			if !strings.Contains(all, "STSSessionToken "+f.ns+"/session") || !strings.Contains(all, c.field) || !strings.Contains(all, "may only read its own namespace") {
				t.Fatalf("errors do not name the generator, its field and the rule: %v", res.Errors)
			}
			if n := f.counter.Path("get", fmt.Sprintf(c.path, other)); n != 0 {
				t.Fatalf("%d GETs of the other namespace's object", n)
			}
			if n := f.counter.Path("create", fmt.Sprintf(c.path, other)+"/token"); n != 0 {
				t.Fatalf("%d token requests for the other namespace's service account", n)
			}
			if calls := f.sts.Calls(); len(calls) != 0 {
				t.Fatalf("STS was called %d times", len(calls))
			}
			if f.secret("stolen") != nil {
				t.Fatal("the generator's Secret was written")
			}
			sameData(t, "secret fine", data(f.secret("fine")), map[string]string{"v": "scope-fine-value-seeded"})
		})
	}
}

// TestAClusterSecretStoreReadsOnlyTheNamespaceItNames: a ClusterSecretStore
// whose jwt names a service account's namespace explicitly uses it (that is
// what a cluster store is for); a SecretStore naming another namespace's
// service account is refused by name, and nothing of that namespace is read.
func TestAClusterSecretStoreReadsOnlyTheNamespaceItNames(t *testing.T) {
	f := newFixture(t)
	other := otherNamespace(t, f)
	const role = "arn:aws:iam::111122223333:role/other-team"
	f.seed("k/a", "cluster-store-value-seeded")
	f.sm.SM.RequireAccessKeys(stsserver.AccessKeyFor(role))
	f.sts.AcceptToken = func(tok string) bool { return strings.Count(tok, ".") == 2 }
	css := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared-%[2]s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: {jwt: {serviceAccountRef: {name: deployer, namespace: %[1]s}}}
`, other, f.ns)
	es := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: a, namespace: %s}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: shared-%s}
  data: [{secretKey: v, remoteRef: {key: k/a}}]
`, f.ns, f.ns)
	f.commit(map[string]string{"css.yaml": css, "a.yaml": es})
	mustOK(t, f.pass())
	sameData(t, "secret a", data(f.secret("a")), map[string]string{"v": "cluster-store-value-seeded"})

	store := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: %s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: {jwt: {serviceAccountRef: {name: deployer, namespace: %s}}}
`, f.ns, other)
	f.commit(map[string]string{"css.yaml": "", "store.yaml": store, "a.yaml": f.es("a", "v=k/a")})
	f.counter.Reset()
	res := f.pass()
	all := fmt.Sprint(res.Errors)
	if res.OK() || !strings.Contains(all, "SecretStore "+f.ns+"/aws") || !strings.Contains(all, "spec.provider.aws.auth.jwt.serviceAccountRef.namespace") {
		t.Fatalf("errors = %v", res.Errors)
	}
	if n := f.counter.Path("get", "/api/v1/namespaces/"+other+"/serviceaccounts/deployer"); n != 0 {
		t.Fatalf("%d GETs of the other namespace's service account", n)
	}
	sameData(t, "secret a (the last good one)", data(f.secret("a")), map[string]string{"v": "cluster-store-value-seeded"})
}

// TestNamespacedOnlyRefusesClusterKinds: with Render.NamespacedOnly (run's
// --namespaced-only) a ClusterSecretStore and a ClusterExternalSecret are
// each an error naming them; the Secrets they made stay (no prune runs
// while they are there, so a Secret whose ExternalSecret left Git stays
// too), and the namespaced ExternalSecrets are still applied.
func TestNamespacedOnlyRefusesClusterKinds(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "nso-a-value-seeded")
	f.seed("k/b", "nso-b-value-seeded")
	cluster := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared-%[1]s}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: everywhere-%[1]s}
spec:
  externalSecretName: everywhere
  namespaces: [%[1]s]
  externalSecretSpec:
    secretStoreRef: {kind: ClusterSecretStore, name: shared-%[1]s}
    data: [{secretKey: v, remoteRef: {key: k/a}}]
`, f.ns)
	f.commit(map[string]string{"store.yaml": f.store(), "cluster.yaml": cluster, "fine.yaml": f.es("fine", "v=k/a"), "gone.yaml": f.es("gone", "v=k/a")})
	mustOK(t, f.pass())
	if f.secret("everywhere") == nil || f.secret("gone") == nil {
		t.Fatal("the first pass did not apply everything")
	}

	f.rec = f.newReconciler(func(c *reconciler.Config) { c.Render.NamespacedOnly = true })
	f.commit(map[string]string{"gone.yaml": "", "fine.yaml": f.es("fine", "v=k/b")})
	res := f.pass()
	all := fmt.Sprint(res.Errors)
	for _, want := range []string{
		"cluster.yaml: ClusterSecretStore shared-" + f.ns + ": kind: ClusterSecretStore is refused: this instance accepts only namespaced kinds",
		"cluster.yaml: ClusterExternalSecret everywhere-" + f.ns + ": kind: ClusterExternalSecret is refused",
	} {
		if !strings.Contains(all, want) {
			t.Fatalf("no error %q in %v", want, res.Errors)
		}
	}
	if res.Pruned != 0 || res.PruneSkipped == "" {
		t.Fatalf("pruned %d, prune skipped %q", res.Pruned, res.PruneSkipped)
	}
	if f.secret("everywhere") == nil || f.secret("gone") == nil {
		t.Fatal("a Secret was deleted while a refused object was in the repo")
	}
	sameData(t, "secret fine", data(f.secret("fine")), map[string]string{"v": "nso-b-value-seeded"})
}
