package render_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/render"
)

const pushOK = `apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: a}
spec:
  refreshInterval: 1h
  updatePolicy: IfNotExists
  deletionPolicy: Delete
  secretStoreRefs: [{name: aws}, {name: shared, kind: ClusterSecretStore}]
  selector: {secret: {name: src}}
  data:
  - match: {secretKey: k, remoteRef: {remoteKey: app/k}}
  - match: {secretKey: u, remoteRef: {remoteKey: app/json, property: user}}
  - match: {remoteRef: {remoteKey: app/all}}
`

func TestPushSecretDecodes(t *testing.T) {
	set := mustRender(t, tree(t, map[string]string{"p.yaml": pushOK}), ".")
	if errs := errorTexts(set); len(errs) != 0 {
		t.Fatalf("errors: %q", errs)
	}
	if len(set.PushSecrets) != 1 {
		t.Fatalf("push secrets = %d, want 1", len(set.PushSecrets))
	}
	p := set.PushSecrets[0]
	if p.ID() != "a/p" || p.Updates() != render.PushIfNotExists || !p.Deletes() || p.Spec.Selector.Secret.Name != "src" ||
		p.Spec.SecretStoreRefs[0].StoreKind() != render.KindSecretStore || p.Spec.SecretStoreRefs[1].StoreKind() != render.KindClusterSecretStore ||
		len(p.Spec.Data) != 3 || p.Spec.Data[1].Match.RemoteRef.Property != "user" || p.Spec.Data[2].Match.SecretKey != "" || p.Spec.RefreshInterval.Duration.Hours() != 1 {
		t.Fatalf("decoded %+v", p)
	}
}

// Every field of ESO's PushSecret schema secretsync does not run is
// refused by name, with the whole PushSecret: nothing is pushed for it.
func TestPushSecretRefusesFieldsByName(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(pushOK, old) {
			t.Fatalf("%q not in the base", old)
		}
		return strings.Replace(pushOK, old, new, 1)
	}
	cases := []struct{ name, file, want string }{
		{"a store label selector", edit("[{name: aws},", "[{labelSelector: {matchLabels: {a: b}}},"), "spec.secretStoreRefs[0].labelSelector: is refused: secretsync does not run store label selectors"},
		{"a store of another kind", edit("{name: aws}", "{name: aws, kind: Vault}"), `spec.secretStoreRefs[0].kind: "Vault" is not a store kind`},
		{"no store", edit("secretStoreRefs: [{name: aws}, {name: shared, kind: ClusterSecretStore}]", "secretStoreRefs: []"), "spec.secretStoreRefs: required"},
		{"a generatorRef", edit("selector: {secret: {name: src}}", "selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}"), "spec.selector.generatorRef: is refused: secretsync does not run generators for PushSecret yet"},
		{"a label-selected source", edit("{secret: {name: src}}", "{secret: {selector: {matchLabels: {a: b}}}}"), "spec.selector.secret.selector: is refused"},
		{"a source Secret in another namespace", edit("{secret: {name: src}}", "{secret: {name: src, namespace: b}}"), `unknown field "spec.selector.secret.namespace"`},
		{"no source", edit("selector: {secret: {name: src}}", "selector: {}"), "spec.selector.secret: required"},
		{"dataTo", edit("  data:\n", "  dataTo: [{storeRef: {name: aws}}]\n  data:\n"), "spec.dataTo: is refused"},
		{"a template", edit("  data:\n", "  template: {data: {a: b}}\n  data:\n"), "spec.template: is refused: secretsync does not run templates"},
		{"per-entry metadata", edit("- match: {secretKey: k, remoteRef: {remoteKey: app/k}}", "- match: {secretKey: k, remoteRef: {remoteKey: app/k}}\n    metadata: {apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {secretPushFormat: string}}"), "spec.data[0].metadata: is refused"},
		{"a conversionStrategy", edit("- match: {secretKey: k, remoteRef: {remoteKey: app/k}}", "- match: {secretKey: k, remoteRef: {remoteKey: app/k}}\n    conversionStrategy: ReverseUnicode"), "spec.data[0].conversionStrategy: is refused"},
		{"an unknown updatePolicy", edit("IfNotExists", "Always"), `spec.updatePolicy: "Always" is not valid`},
		{"an unknown deletionPolicy", edit("deletionPolicy: Delete", "deletionPolicy: Orphan"), `spec.deletionPolicy: "Orphan" is not valid`},
		{"no remoteKey", edit("{secretKey: k, remoteRef: {remoteKey: app/k}}", "{secretKey: k, remoteRef: {property: x}}"), "spec.data[0].match.remoteRef.remoteKey: required"},
		{"two entries on one remote key", edit("remoteKey: app/all", "remoteKey: app/k"), "spec.data[2].match.remoteRef: pushes to the same remote key and property as spec.data[0]"},
		{"an unknown field", edit("  updatePolicy:", "  updatePolicyy: x\n  updatePolicy:"), `unknown field "spec.updatePolicyy"`},
		{"apiVersion v1", edit("v1alpha1", "v1"), `version "v1" is not supported for PushSecret; use v1alpha1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := mustRender(t, tree(t, map[string]string{"p.yaml": c.file}), ".")
			errs := errorTexts(set)
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) || !strings.HasPrefix(errs[0], "p.yaml: PushSecret a/p: ") {
				t.Fatalf("errors = %q, want one naming p.yaml: PushSecret a/p and %q", errs, c.want)
			}
			if len(set.PushSecrets) != 0 {
				t.Fatal("a refused PushSecret is in the set")
			}
		})
	}
}
