package reconciler_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/reconciler"
)

func TestKMSCiphertextInGitDecryptsOnlyForItsTarget(t *testing.T) {
	f := newFixture(t)
	key := awstest.CreateKey(t, f.kmsURL)
	const plain = "kms-db-password-seeded"
	f.seeds = append(f.seeds, plain)
	ct := awstest.Encrypt(t, f.kmsURL, key, providers.Target{Namespace: f.ns, Secret: "db", Key: "password"}, plain)
	store := fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: kms, namespace: %s}\nspec: {provider: {aws: {service: KMS, region: us-east-1, kmsKeyId: %s}}}\n", f.ns, key)
	es := func(name, secretKey string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  secretStoreRef: {name: kms}\n  data:\n    - secretKey: %s\n      remoteRef: {key: %q}\n", name, f.ns, secretKey, ct)
	}
	f.commit(map[string]string{"kms.yaml": store, "db.yaml": es("db", "password")})
	mustOK(t, f.pass())
	sameData(t, "secret db", data(f.secret("db")), map[string]string{"password": plain})

	t.Run("the same ciphertext copied to another Secret or key fails", func(t *testing.T) {
		f.commit(map[string]string{"copy.yaml": es("copy", "password"), "rekey.yaml": strings.Replace(es("db2", "password"), "name: db2", "name: db2", 1)})
		res := f.pass()
		if res.Reason != reconciler.ResolveFailed || res.Failed != 2 {
			t.Fatalf("reason %s failed %d errors %v", res.Reason, res.Failed, res.Errors)
		}
		for _, e := range res.Errors {
			if !strings.Contains(e.Error(), string(providers.Decrypt)) {
				t.Fatalf("error is not a decrypt failure: %v", e)
			}
		}
		if f.secret("copy") != nil {
			t.Fatal("a copied ciphertext produced a Secret")
		}
	})
}

// TestKMSKeyDisabledOrPendingDeletionKeepsTheSecret: with deletionPolicy
// Delete, a KMS key that is disabled (DisabledException from local-kms's
// Decrypt) or pending deletion (KMSInvalidStateException) is a failure that
// keeps the Secret and its value, never the "gone" that deletes it.
func TestKMSKeyDisabledOrPendingDeletionKeepsTheSecret(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		secret, code string
		fault        func(t testing.TB, url, keyID string)
	}{
		{"disabled", "DisabledException", awstest.DisableKey},
		{"pending", "KMSInvalidStateException", awstest.ScheduleKeyDeletion},
	}
	files := map[string]string{}
	keys, plains := map[string]string{}, map[string]string{}
	for _, c := range cases {
		key := awstest.CreateKey(t, f.kmsURL)
		keys[c.secret] = key
		plain := leaktest.Canary() // random: "disabled" is a word of the error
		plains[c.secret] = plain
		f.seeds = append(f.seeds, plain)
		ct := awstest.Encrypt(t, f.kmsURL, key, providers.Target{Namespace: f.ns, Secret: c.secret, Key: "password"}, plain)
		files[c.secret+".yaml"] = fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: kms-%[2]s, namespace: %[1]s}
spec: {provider: {aws: {service: KMS, region: us-east-1, kmsKeyId: %[3]s}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  secretStoreRef: {name: kms-%[2]s}
  target: {deletionPolicy: Delete}
  data: [{secretKey: password, remoteRef: {key: %[4]q}}]
`, f.ns, c.secret, key, ct)
	}
	f.commit(files)
	mustOK(t, f.pass())
	for _, c := range cases {
		c.fault(t, f.kmsURL, keys[c.secret])
	}
	for i := range 2 {
		res := f.pass()
		if res.Reason != reconciler.ResolveFailed || res.Failed != len(cases) {
			t.Fatalf("pass %d: reason %s, failed %d, errors %v", i+2, res.Reason, res.Failed, res.Errors)
		}
		for _, c := range cases {
			if !slices.ContainsFunc(res.Errors, func(e error) bool {
				return strings.Contains(e.Error(), c.code) && strings.Contains(e.Error(), c.secret)
			}) {
				t.Fatalf("pass %d: no error names %s for %s: %v", i+2, c.code, c.secret, res.Errors)
			}
			sameData(t, "secret "+c.secret, data(f.secret(c.secret)), map[string]string{"password": plains[c.secret]})
		}
	}
}
