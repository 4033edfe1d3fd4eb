package reconciler_test

import (
	"fmt"
	"testing"
)

// TestAParameterStoreStore applies Secrets from Parameter Store (kumo's,
// through the real SDK) as ESO does: a property of a JSON SecureString, a
// StringList as stored, dataFrom.extract of a JSON parameter, dataFrom.find
// by path and name with ESO's key naming, the store's prefix, and tags with
// metadataPolicy Fetch; a rotation reaches the Secret on refresh.
func TestAParameterStoreStore(t *testing.T) {
	f := newFixture(t)
	const pw, pw2 = "ps-seeded-password", "ps-seeded-rotated"
	put := func(name, typ, value string, tags map[string]string) {
		f.ssm.Put(t, name, typ, value, tags)
		f.remember(value)
	}
	put("/prod/db", "SecureString", fmt.Sprintf(`{"user":"ps-seeded-user","password":%q}`, pw), map[string]string{"owner": "payments"})
	put("/prod/hosts", "StringList", "a.example,b.example", nil)
	put("/prod/api/key", "SecureString", "ps-seeded-api-key", nil)
	put("/prod/api/url", "String", "https://ps-seeded.example", nil)
	f.commit(map[string]string{
		"store.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: ssm, namespace: %[1]s}
spec: {provider: {aws: {service: ParameterStore, region: us-east-1, prefix: /prod/}}}
`, f.ns),
		"es.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: %[1]s}
spec:
  secretStoreRef: {name: ssm}
  data:
    - {secretKey: password, remoteRef: {key: db, property: password}}
    - {secretKey: hosts, remoteRef: {key: hosts}}
    - {secretKey: owner, remoteRef: {key: db, metadataPolicy: Fetch, property: owner}}
  dataFrom:
    - extract: {key: db}
    - find: {path: /prod/api, name: {regexp: ".*"}}
`, f.ns),
	})
	res := f.pass()
	if !res.OK() {
		t.Fatalf("pass: %v", res.Errors)
	}
	sameData(t, "app", data(f.secret("app")), map[string]string{
		"password": pw, "user": "ps-seeded-user", "hosts": "a.example,b.example", "owner": "payments",
		"_prod_api_key": "ps-seeded-api-key", "_prod_api_url": "https://ps-seeded.example",
	})

	put("/prod/db", "SecureString", fmt.Sprintf(`{"user":"ps-seeded-user","password":%q}`, pw2), nil)
	if res := f.pass(); !res.OK() {
		t.Fatalf("pass after rotation: %v", res.Errors)
	}
	if string(f.secret("app").Data["password"]) != pw2 {
		t.Fatal("the rotated parameter did not reach the Secret")
	}

	t.Run("a missing parameter fails the ExternalSecret, names it, and keeps the Secret", func(t *testing.T) {
		f.commit(map[string]string{"es.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: %[1]s}
spec:
  secretStoreRef: {name: ssm}
  data:
    - {secretKey: password, remoteRef: {key: gone}}
`, f.ns)})
		res := f.pass()
		if res.OK() || len(res.Errors) == 0 || !contains(res.Errors[0].Error(), "parameterstore:/prod/gone") {
			t.Fatalf("errors: %v", res.Errors)
		}
		if string(f.secret("app").Data["password"]) != pw2 {
			t.Fatal("the last good Secret was not kept")
		}
	})
}
