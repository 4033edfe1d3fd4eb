package review_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/review"
)

// plan lists the remote secrets a change makes PushSecrets start, change
// or stop writing, by name: a push, a change of source, a delete under
// deletionPolicy Delete, a leave under None, and no delete of a remote
// secret another PushSecret of the head still writes.
func TestPlanListsRemoteSecretsPushSecretsWrite(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	push := func(name, policy, src string, items ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  deletionPolicy: %s\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: %s}}\n  data:\n", name, policy, src)
		for _, it := range items {
			key, remote, _ := strings.Cut(it, "=")
			fmt.Fprintf(&b, "  - match: {secretKey: %q, remoteRef: {remoteKey: %s}}\n", key, remote)
		}
		return b.String()
	}
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	for _, d := range []string{base, head} {
		write(t, d, "store.yaml", store)
	}
	write(t, base, "a.yaml", push("a", "Delete", "src", "k=shop/gone", "k=shop/moved", "k=shop/same", "k=shop/resourced"))
	write(t, base, "b.yaml", push("b", "None", "src", "k=shop/left"))
	write(t, head, "a.yaml", push("a", "Delete", "src", "k=shop/same", "other=shop/resourced", "k=shop/new"))
	write(t, head, "c.yaml", push("c", "None", "src", "k=shop/moved"))
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	got := map[string]string{}
	for _, r := range p.Remote {
		got[r.RemoteKey+" "+r.PushSecret] = r.Action
	}
	want := map[string]string{
		"shop/gone shop/a":      "delete",
		"shop/moved shop/a":     "leave", // c writes it now
		"shop/moved shop/c":     "push",
		"shop/resourced shop/a": "change",
		"shop/new shop/a":       "push",
		"shop/left shop/b":      "leave",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("remote plan (-want +got):\n%s", diff)
	}
	var table, md bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil {
		t.Fatal(err)
	}
	if err := review.WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "AWS (PushSecret): 6 remote secrets") || !strings.Contains(table.String(), "delete shop/gone in SecretStore/shop/aws") ||
		!strings.Contains(md.String(), "| `shop/gone` | `SecretStore/shop/aws` | delete | `shop/a` in `a.yaml` |") {
		t.Fatalf("outputs:\n%s\n%s", table.String(), md.String())
	}
}

// plan names what dataTo and label-selected sources write, as far as Git
// says: a bundle's remoteKey, and for a per-key dataTo the entry whose
// source keys name the remote secrets; never a value.
func TestPlanListsDataToRemoteSecrets(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop, labels: {push: shop}}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	for _, d := range []string{base, head} {
		write(t, d, "store.yaml", store)
	}
	write(t, head, "p.yaml", `apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: shop}
spec:
  secretStoreRefs: [{labelSelector: {matchLabels: {push: shop}}}]
  selector: {secret: {selector: {matchLabels: {publish: "yes"}}}}
  dataTo:
  - {storeRef: {labelSelector: {matchLabels: {push: shop}}}, remoteKey: shop/bundle}
  - {storeRef: {labelSelector: {matchLabels: {push: shop}}}, match: {regexp: "^db_"}}
`)
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	var got []string
	for _, r := range p.Remote {
		got = append(got, r.Action+" "+r.RemoteKey+" "+r.Store+" "+r.From)
	}
	want := []string{
		`push (one per key of spec.dataTo[1]) SecretStore/shop/aws Secrets of shop labelled publish=yes, the keys spec.dataTo[1] matches, Replace`,
		`push shop/bundle SecretStore/shop/aws Secrets of shop labelled publish=yes, the keys spec.dataTo[0] matches, Replace`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("remote plan (-want +got):\n%s", diff)
	}
}

// validate refuses offline what run would: a store label selector that
// matches no store, a dataTo bundle on a remote secret another
// namespace's PushSecret writes, two PushSecrets of one namespace on one
// remote secret (each finding naming both), and more writes than
// MaxPushEntries named in Git.
func TestValidateFindsPushSecretStoreSelectorsSharedRemotesAndTooManyWrites(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "css.yaml", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
	push := func(ns, name, spec string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  selector: {secret: {name: src}}\n%s", name, ns, spec)
	}
	write(t, dir, "a.yaml", push("a", "p", "  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  dataTo: [{storeRef: {name: shared, kind: ClusterSecretStore}, remoteKey: b/db}]\n"))
	write(t, dir, "b.yaml", push("b", "p", "  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: b/db}}}]\n"))
	write(t, dir, "c.yaml", push("c", "p", "  secretStoreRefs: [{labelSelector: {matchLabels: {team: none}}}]\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: c/k}}}]\n"))
	write(t, dir, "d.yaml", push("d", "p", "  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: d/db, property: user}}}]\n")+
		"---\n"+push("d", "q", "  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: d/db, property: user}}}]\n")+
		"---\n"+push("d", "r", "  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: d/db, property: pass}}}]\n"))
	var many strings.Builder
	for i := range desired.MaxPushEntries + 1 {
		fmt.Fprintf(&many, "  - match: {secretKey: k%d, remoteRef: {remoteKey: e/k%d}}\n", i, i)
	}
	write(t, dir, "e.yaml", push("e", "p", "  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  data:\n"+many.String()))
	var got []string
	for _, f := range review.Validate(dir, renderAt(t, dir), review.Options{}) {
		got = append(got, f.Namespace+"/"+f.Name+" "+f.Field+": "+f.Message)
	}
	want := []string{
		"a/p spec.dataTo[0].remoteKey: remote secret b/db in ClusterSecretStore/shared is also pushed by a PushSecret of namespace(s) a,b: refused for all of them, the remote secret is left as it is",
		"b/p spec.data[0].match.remoteRef.remoteKey: remote secret b/db in ClusterSecretStore/shared is also pushed by a PushSecret of namespace(s) a,b: refused for all of them, the remote secret is left as it is",
		"c/p spec.secretStoreRefs[0].labelSelector: matches no SecretStore in the rendered manifests",
		`d/p spec.data[0].match.remoteRef.remoteKey: PushSecrets d/p and d/q both push remote secret d/db property "user" in ClusterSecretStore/shared, and would overwrite each other at every pass: refused for both, the remote secret is left as it is`,
		`d/q spec.data[0].match.remoteRef.remoteKey: PushSecrets d/q and d/p both push remote secret d/db property "user" in ClusterSecretStore/shared, and would overwrite each other at every pass: refused for both, the remote secret is left as it is`,
		"e/p spec.secretStoreRefs: Git alone names at least 1001 remote secrets and properties it writes (stores × data entries and dataTo bundles), more than the 1000 one PushSecret may (MaxPushEntries)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
}

// validate reports every bad key and value of a PushSecret entry's
// metadata, each by its field, offline, in the words run refuses it with
// (awsservice decodes it for both); a Parameter Store key under a Secrets
// Manager store is one of them.
func TestValidateFindsEveryBadPushMetadataKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
	write(t, dir, "p.yaml", `apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: shop}
spec:
  secretStoreRefs: [{name: aws}]
  selector: {secret: {name: src}}
  data:
  - match: {secretKey: k, remoteRef: {remoteKey: shop/k}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec: {secretPushFormat: text, secretType: SecureString, description: fine}
  - match: {secretKey: a, remoteRef: {remoteKey: shop/a}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec:
        resourcePolicy:
          blockPublicPolicy: false
          policySourceRef: {kind: ConfigMap, name: pol, key: policy.json, namespace: other}
  - match: {secretKey: b, remoteRef: {remoteKey: shop/b}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec:
        resourcePolicy: {policySourceRef: {kind: Secret, name: pol, key: policy.json}}
`)
	var got []string
	for _, f := range review.Validate(dir, renderAt(t, dir), review.Options{}) {
		got = append(got, fmt.Sprintf("%d %s: %s", f.Line, f.Field, f.Message))
	}
	want := []string{
		`12 spec.data[0].metadata.spec.secretPushFormat: must be binary or string, not "text"`,
		`12 spec.data[0].metadata.spec.secretType: is not a key of ESO's SecretsManager push metadata`,
		`19 spec.data[1].metadata.spec.resourcePolicy.blockPublicPolicy: cannot be false: secretsync always asks AWS to refuse a policy that grants public access`,
		`20 spec.data[1].metadata.spec.resourcePolicy.policySourceRef.namespace: is not a key of ESO's policySourceRef: the policy is read in the PushSecret's own namespace only`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
}
