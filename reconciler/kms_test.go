package reconciler_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
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
