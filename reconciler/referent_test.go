package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAReferentClusterSecretStoreUsesEachExternalSecretsOwnNamespace is
// ESO's referent auth: a ClusterSecretStore whose auth.secretRef names no
// namespace reads the credentials Secret of the namespace of each
// ExternalSecret it serves. Namespaces A and B each hold their own
// aws-creds (distinct access keys) and an ExternalSecret reading the same
// remote key; C holds an ExternalSecret but no aws-creds. Secrets Manager
// accepts only A's key, then only B's: each pass serves the value only to
// the namespace whose own credentials were accepted (a fetch made with one
// namespace's credentials is never shared with another), reads no
// credentials Secret but A's, B's and C's, and fails only C's ExternalSecret,
// naming its missing Secret.
func TestAReferentClusterSecretStoreUsesEachExternalSecretsOwnNamespace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keys := map[string]string{}
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
		keys[ns] = fmt.Sprintf("AKIAREFERENT%08d", i)
		secret := "referent-secret-key-seeded-" + ns
		f.remember(secret)
		creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-creds", Namespace: ns},
			Data: map[string][]byte{"id": []byte(keys[ns]), "secret": []byte(secret)}}
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, creds, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.seed("k/shared", "referent-shared-value-seeded")
	files := map[string]string{"css.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared-%s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: {secretRef: {accessKeyIDSecretRef: {name: aws-creds, key: id}, secretAccessKeySecretRef: {name: aws-creds, key: secret}}}
`, f.ns)}
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
	credsPath := func(ns string) string { return "/api/v1/namespaces/" + ns + "/secrets/aws-creds" }
	for _, c := range []struct{ accepted, refused string }{{nsA, nsB}, {nsB, nsA}} {
		f.sm.SM.RequireAccessKeys(keys[c.accepted])
		f.counter.Reset()
		res := f.pass()
		all := fmt.Sprint(res.Errors)
		if !strings.Contains(all, "externalsecret "+nsC+"/app") || !strings.Contains(all, "credentials secret "+nsC+"/aws-creds not found") {
			t.Fatalf("accepting %s: no error naming %s's ExternalSecret and its missing Secret: %v", c.accepted, nsC, res.Errors)
		}
		if !strings.Contains(all, "externalsecret "+c.refused+"/app") || strings.Contains(all, "externalsecret "+c.accepted+"/app") {
			t.Fatalf("accepting only %s's key, errors = %v; want %s's ExternalSecret (and C's) to fail, %s's to succeed", c.accepted, res.Errors, c.refused, c.accepted)
		}
		sameData(t, "secret app in "+c.accepted, app(c.accepted), map[string]string{"v": "referent-shared-value-seeded"})
		if c.accepted == nsA && app(nsB) != nil {
			t.Fatalf("%s's Secret was written with a value fetched with %s's credentials", nsB, nsA)
		}
		if c.accepted == nsB {
			// The refused namespace keeps its last good Secret.
			sameData(t, "secret app in "+nsA+" (the last good one)", app(nsA), map[string]string{"v": "referent-shared-value-seeded"})
		}
		var reads int64
		for _, ns := range []string{nsA, nsB, nsC} {
			n := f.counter.Path("get", credsPath(ns))
			if n == 0 {
				t.Fatalf("accepting %s: %s's credentials Secret was not read", c.accepted, ns)
			}
			reads += n
		}
		if got := f.counter.ByVerb()["get secrets"]; got != reads {
			t.Fatalf("accepting %s: %d Secret GETs, %d of them the three namespaces' own aws-creds", c.accepted, got, reads)
		}
	}
}
