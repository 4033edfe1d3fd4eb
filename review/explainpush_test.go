package review_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/review"
)

// explain --kind PushSecret says, by name, what each kind of source and
// each kind of entry pushes: a Secret by name (a key with a property, the
// whole Secret), a label selector through a template (a dataTo bundle, one
// remote per key), a generator, stores by name and by label selector, the
// policies with ESO's defaults; and nothing for a PushSecret not there.
func TestExplainPushNamesSourcePoliciesStoresAndRemoteKeys(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "stores.yaml", `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: sm, namespace: shop, labels: {push: "yes"}}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: ps}
spec: {provider: {aws: {service: ParameterStore, region: us-east-1}}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: pw, namespace: shop}
spec: {length: 24}
`)
	write(t, dir, "push.yaml", `apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: by-name, namespace: shop}
spec:
  refreshInterval: 10m
  deletionPolicy: Delete
  secretStoreRefs: [{name: sm}, {name: ps, kind: ClusterSecretStore}]
  selector: {secret: {name: db}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: shop/db, property: password}}
  - match: {remoteRef: {remoteKey: shop/db-all}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: by-label, namespace: shop}
spec:
  updatePolicy: IfNotExists
  secretStoreRefs: [{labelSelector: {matchLabels: {push: "yes"}}}]
  selector: {secret: {selector: {matchLabels: {app: web}}}}
  template: {data: {url: "https://{{ .host }}"}}
  dataTo:
  - {storeRef: {name: sm}, remoteKey: shop/bundle}
  - {storeRef: {name: sm}, match: {regexp: "^tls"}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: generated, namespace: shop}
spec:
  secretStoreRefs: [{name: sm}]
  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: shop/generated}}
`)
	set := renderAt(t, dir)
	want := map[string]*review.PushExplanation{
		"shop/by-name": {File: "push.yaml", Source: "Secret shop/db", UpdatePolicy: "Replace", DeletionPolicy: "Delete", RefreshInterval: "10m",
			Stores: []string{"SecretStore/shop/sm", "ClusterSecretStore/ps"},
			Remotes: []review.PushedRemote{
				{Store: "SecretStore/shop/sm", RemoteKey: "shop/db", Property: "password", From: "key password"},
				{Store: "SecretStore/shop/sm", RemoteKey: "shop/db-all", From: "key (whole Secret as JSON)"},
				{Store: "ClusterSecretStore/ps", RemoteKey: "shop/db", Property: "password", From: "key password"},
				{Store: "ClusterSecretStore/ps", RemoteKey: "shop/db-all", From: "key (whole Secret as JSON)"},
			}},
		"shop/by-label": {File: "push.yaml", Source: "Secrets of shop labelled app=web through spec.template", UpdatePolicy: "IfNotExists", DeletionPolicy: "None",
			Stores: []string{"SecretStore/shop/sm"},
			Remotes: []review.PushedRemote{
				{Store: "SecretStore/shop/sm", RemoteKey: "shop/bundle", From: "the keys spec.dataTo[0] matches"},
				{Store: "SecretStore/shop/sm", RemoteKey: "(one per key of spec.dataTo[1])", From: "the keys spec.dataTo[1] matches"},
			}},
		"shop/generated": {File: "push.yaml", Source: "generator Password/pw", UpdatePolicy: "Replace", DeletionPolicy: "None",
			Stores:  []string{"SecretStore/shop/sm"},
			Remotes: []review.PushedRemote{{Store: "SecretStore/shop/sm", RemoteKey: "shop/generated", From: "key password"}}},
		"shop/absent":   nil,
		"other/by-name": nil,
	}
	for id, w := range want {
		if diff := cmp.Diff(w, review.ExplainPush(set, id)); diff != "" {
			t.Errorf("ExplainPush(%s) (-want +got):\n%s", id, diff)
		}
	}
}
