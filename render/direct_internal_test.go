package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const directStores = `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws
  labels: {team: "a", tier: "1"}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: {secretRef: {accessKeyIDSecretRef: {name: creds, key: id}, secretAccessKeySecretRef: {name: creds, key: secret}}}
---
# only a comment
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: elsewhere
  annotations: {note: "yes", count: "3"}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: aws, kind: SecretStore}
  target:
    name: db-credentials
    immutable: true
    template:
      type: kubernetes.io/basic-auth
      data:
        dsn: |
          postgres://{{ .user }}:{{ .password }}@db:5432/app?sslmode=require
  data:
    - secretKey: password
      remoteRef: {key: apps/db, property: password, version: "2"}
  dataFrom:
    - find: {name: {regexp: "^apps/db/.*"}, tags: {env: prod}}
      rewrite: [{regexp: {source: "apps/db/(.*)", target: "$1"}}]
`

const directCluster = `apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  provider: {aws: {service: SecretsManager, region: eu-west-1}}
  conditions:
    - namespaceSelector: {matchLabels: {shared: "true"}}
    - namespaces: [a, b]
`

func directFS(t *testing.T, files map[string]string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	for p, c := range files {
		if err := mem.WriteFile(p, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := enableOrigins(mem, kustomizationIn(mem, "/leaf")); err != nil {
		t.Fatal(err)
	}
	return mem
}

func TestADirectBuildEqualsKustomize(t *testing.T) {
	for name, kustomization := range map[string]string{
		"with a namespace":                  "namespace: team-a\nresources: [stores.yaml, cluster.yml]\n",
		"without one, with apiVersion/kind": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - stores.yaml\n  - ./cluster.yml\n",
	} {
		t.Run(name, func(t *testing.T) {
			mem := directFS(t, map[string]string{"/leaf/kustomization.yaml": kustomization, "/leaf/stores.yaml": directStores, "/leaf/cluster.yml": directCluster})
			got, ok := direct(mem, "/leaf")
			if !ok {
				t.Fatal("the leaf was not built directly")
			}
			want, err := kustomizeBuild(mem, "/leaf")
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != 3 {
				t.Fatalf("kustomize built %d objects", len(want))
			}
			if diff := cmp.Diff(flatten(want), flatten(got)); diff != "" {
				t.Fatalf("direct build differs from kustomize (-kustomize +direct):\n%s", diff)
			}
			for i := range got {
				if got[i].id != resID(want[i].json) {
					t.Fatalf("id %q, kustomize's object is %q", got[i].id, resID(want[i].json))
				}
			}
		})
	}
}

func TestAnythingElseGoesToKustomize(t *testing.T) {
	es := "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {secretStoreRef: {name: aws}, data: [{secretKey: v, remoteRef: {key: k}}]}\n"
	for name, files := range map[string]map[string]string{
		"a transformer":              {"/leaf/kustomization.yaml": "commonLabels: {a: b}\nresources: [es.yaml]\n", "/leaf/es.yaml": es},
		"a folder resource":          {"/leaf/kustomization.yaml": "resources: [sub]\n", "/leaf/sub/kustomization.yaml": "resources: [es.yaml]\n", "/leaf/sub/es.yaml": es},
		"a file outside the folder":  {"/leaf/kustomization.yaml": "resources: [../es.yaml]\n", "/es.yaml": es},
		"another kind":               {"/leaf/kustomization.yaml": "resources: [cm.yaml]\n", "/leaf/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"},
		"a duplicate":                {"/leaf/kustomization.yaml": "resources: [es.yaml]\n", "/leaf/es.yaml": es + "---\n" + es},
		"an object without a name":   {"/leaf/kustomization.yaml": "resources: [es.yaml]\n", "/leaf/es.yaml": strings.Replace(es, "name: x", "labels: {}", 1)},
		"a URL":                      {"/leaf/kustomization.yaml": "resources: [https://example.com/es.yaml]\n"},
		"a file of no objects":       {"/leaf/kustomization.yaml": "resources: [es.yaml]\n", "/leaf/es.yaml": "# nothing\n"},
		"YAML that does not parse":   {"/leaf/kustomization.yaml": "resources: [es.yaml]\n", "/leaf/es.yaml": "a: [\n"},
		"another kustomization kind": {"/leaf/kustomization.yaml": "kind: Component\nresources: [es.yaml]\n", "/leaf/es.yaml": es},
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok := direct(directFS(t, files), "/leaf"); ok {
				t.Fatal("built directly")
			}
		})
	}
}
