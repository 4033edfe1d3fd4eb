package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/stsserver"
)

// Random seeds: "referent" and "explicit" are words of these tests'
// namespace names and messages, so their pieces would match innocent text.
var referentShared, explicitKey, explicitShared = leaktest.Canary(), leaktest.Canary(), leaktest.Canary()

// TestAReferentClusterSecretStoreUsesEachExternalSecretsOwnNamespace is
// ESO's referent auth: a ClusterSecretStore whose auth.secretRef (or
// auth.jwt.serviceAccountRef) names no namespace reads the credentials
// Secret (or service account) of the namespace of each ExternalSecret it
// serves. Namespaces A and B each hold their own aws-creds Secret and
// deployer service account (distinct access keys, distinct roles) and an
// ExternalSecret reading the same remote key; C holds an ExternalSecret
// and neither. Secrets Manager accepts only A's identity, then only B's:
// each pass serves the value only to the namespace whose own credentials
// were accepted (a fetch made with one namespace's credentials is never
// shared with another), reads nothing of that kind but A's, B's and C's,
// and fails only C's ExternalSecret, naming what is missing.
func TestAReferentClusterSecretStoreUsesEachExternalSecretsOwnNamespace(t *testing.T) {
	for _, c := range []struct {
		name, auth string
		read       func(ns string) (verb, path string) // the credentials a pass reads
		missing    func(ns string) string              // C's error
	}{
		{"secretRef", `{secretRef: {accessKeyIDSecretRef: {name: aws-creds, key: id}, secretAccessKeySecretRef: {name: aws-creds, key: secret}}}`,
			func(ns string) (string, string) { return "get", "/api/v1/namespaces/" + ns + "/secrets/aws-creds" },
			func(ns string) string { return "credentials secret " + ns + "/aws-creds not found" }},
		{"jwt", `{jwt: {serviceAccountRef: {name: deployer}}}`,
			func(ns string) (string, string) {
				return "get", "/api/v1/namespaces/" + ns + "/serviceaccounts/deployer"
			},
			func(ns string) string { return "read service account " + ns + "/deployer for jwt auth" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.sts.AcceptToken = func(tok string) bool { return strings.Count(tok, ".") == 2 }
			ctx := context.Background()
			identity := map[string]string{} // the access key AWS sees for each namespace
			nsA, nsB, nsC := f.ns, "referent-b-"+randomSuffix(), "referent-c-"+randomSuffix()
			for i, ns := range []string{nsA, nsB, nsC} {
				if ns != f.ns {
					if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				if ns == nsC {
					continue
				}
				key, secret := fmt.Sprintf("AKIAREFERENT%08d", i), leaktest.Canary() // random: "referent" names namespaces here
				f.remember(secret)
				creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-creds", Namespace: ns},
					Data: map[string][]byte{"id": []byte(key), "secret": []byte(secret)}}
				if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, creds, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				role := fmt.Sprintf("arn:aws:iam::111122223333:role/referent-%d", i)
				sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns,
					Annotations: map[string]string{"eks.amazonaws.com/role-arn": role}}}
				if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				identity[ns] = key
				if c.name == "jwt" {
					identity[ns] = stsserver.AccessKeyFor(role)
				}
			}
			f.seed("k/shared", referentShared)
			files := map[string]string{"css.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared-%s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: %s
`, f.ns, c.auth)}
			for _, ns := range []string{nsA, nsB, nsC} {
				files[ns+".yaml"] = fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: %s}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: shared-%s}
  data: [{secretKey: v, remoteRef: {key: k/shared}}]
`, ns, f.ns)
			}
			f.commit(files)
			app := func(ns string) map[string]string {
				s, err := env.Client.CoreV1().Secrets(ns).Get(ctx, "app", metav1.GetOptions{})
				if err != nil {
					return nil
				}
				return data(s)
			}
			for _, p := range []struct{ accepted, refused string }{{nsA, nsB}, {nsB, nsA}} {
				f.sm.SM.RequireAccessKeys(identity[p.accepted])
				f.counter.Reset()
				res := f.pass()
				all := fmt.Sprint(res.Errors)
				if !strings.Contains(all, "externalsecret "+nsC+"/app") || !strings.Contains(all, c.missing(nsC)) {
					t.Fatalf("accepting %s: no error naming %s's ExternalSecret and what it misses: %v", p.accepted, nsC, res.Errors)
				}
				if len(res.Errors) != 2 || !strings.Contains(all, "externalsecret "+p.refused+"/app") || strings.Contains(all, "externalsecret "+p.accepted+"/app") {
					t.Fatalf("accepting only %s's identity, errors = %v; want %s's ExternalSecret (and C's) to fail, %s's to succeed", p.accepted, res.Errors, p.refused, p.accepted)
				}
				sameData(t, "secret app in "+p.accepted, app(p.accepted), map[string]string{"v": referentShared})
				if p.accepted == nsA && app(nsB) != nil {
					t.Fatalf("%s's Secret was written with a value fetched with %s's credentials", nsB, nsA)
				}
				if p.accepted == nsB {
					// The refused namespace keeps its last good Secret.
					sameData(t, "secret app in "+nsA+" (the last good one)", app(nsA), map[string]string{"v": referentShared})
				}
				var reads int64
				verb, _ := c.read(nsA)
				for _, ns := range []string{nsA, nsB, nsC} {
					_, path := c.read(ns)
					n := f.counter.Path(verb, path)
					if n == 0 {
						t.Fatalf("accepting %s: %s of %s's was not read", p.accepted, path, ns)
					}
					reads += n
				}
				kind := "secrets"
				if c.name == "jwt" {
					kind = "serviceaccounts"
				}
				if got := f.counter.ByVerb()[verb+" "+kind]; got != reads {
					t.Fatalf("accepting %s: %d %s %s, %d of them the three namespaces' own", p.accepted, got, verb, kind, reads)
				}
			}
		})
	}
}

// TestAClusterSecretStoreNamingItsNamespaceKeepsOneProvider: a
// ClusterSecretStore whose references all name their namespace is not
// referent, so serving ExternalSecrets in three namespaces it builds one
// provider per pass (its credentials Secret read once per key) and fetches
// a remote key they share once.
func TestAClusterSecretStoreNamingItsNamespaceKeepsOneProvider(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.remember(explicitKey)
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-creds", Namespace: f.ns},
		Data: map[string][]byte{"id": []byte("AKIAEXPLICIT00000001"), "secret": []byte(explicitKey)}}
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, creds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.seed("k/shared", explicitShared)
	f.sm.SM.RequireAccessKeys("AKIAEXPLICIT00000001")
	files := map[string]string{"css.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared-%[1]s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: {secretRef: {accessKeyIDSecretRef: {name: aws-creds, key: id, namespace: %[1]s}, secretAccessKeySecretRef: {name: aws-creds, key: secret, namespace: %[1]s}}}
`, f.ns)}
	namespaces := []string{f.ns, "explicit-b-" + randomSuffix(), "explicit-c-" + randomSuffix()}
	for _, ns := range namespaces {
		if ns != f.ns {
			if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		files[ns+".yaml"] = fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: %s}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: shared-%s}
  data: [{secretKey: v, remoteRef: {key: k/shared}}]
`, ns, f.ns)
	}
	f.commit(files)
	f.counter.Reset()
	f.sm.SM.ResetCalls()
	mustOK(t, f.pass())
	for _, ns := range namespaces {
		s, err := env.Client.CoreV1().Secrets(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, "secret app in "+ns, data(s), map[string]string{"v": explicitShared})
	}
	if n := f.counter.Path("get", "/api/v1/namespaces/"+f.ns+"/secrets/aws-creds"); n != 2 {
		t.Fatalf("the credentials Secret was read %d times, want 2 (one provider: its two keys)", n)
	}
	if n := f.sm.SM.Reads()["k/shared"]; n != 1 {
		t.Fatalf("k/shared was fetched %d times, want once for the three namespaces", n)
	}
}
