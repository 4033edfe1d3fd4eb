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

// The sources, dataTo, template, metadata and conversion ESO defines
// decode and pass validation together.
func TestPushSecretAcceptsSelectorsDataToTemplateMetadata(t *testing.T) {
	const ps = `apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: a}
spec:
  secretStoreRefs: [{labelSelector: {matchLabels: {team: a}}}, {name: aws}]
  selector: {secret: {selector: {matchLabels: {push: "yes"}}}}
  template: {data: {token: "{{ .password | upper }}"}}
  dataTo:
  - storeRef: {name: aws}
    match: {regexp: "^db_"}
    rewrite: [{regexp: {source: "^db_", target: "app/"}}, {transform: {template: "{{ .value | lower }}"}}]
    metadata: {apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {description: d}}
    conversionStrategy: ReverseUnicode
  - storeRef: {labelSelector: {matchLabels: {team: a}}}
    remoteKey: app/bundle
  data:
  - match: {secretKey: token, remoteRef: {remoteKey: app/token}}
    metadata: {apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {secretPushFormat: string}}
    conversionStrategy: None
`
	set := mustRender(t, tree(t, map[string]string{"p.yaml": ps}), ".")
	if errs := errorTexts(set); len(errs) != 0 {
		t.Fatalf("errors: %q", errs)
	}
	p := set.PushSecrets[0]
	if p.Spec.Selector.Secret.Selector.MatchLabels["push"] != "yes" || len(p.Spec.DataTo) != 2 || p.Spec.DataTo[1].RemoteKey != "app/bundle" ||
		len(p.Spec.DataTo[0].Rewrite) != 2 || p.Spec.Template.Data["token"] == "" || len(p.Spec.Data[0].Metadata) == 0 || p.Spec.DataTo[0].ConversionStrategy != render.PushReverseUnicode {
		t.Fatalf("decoded %+v", p.Spec)
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
		{"a store named and label-selected", edit("[{name: aws},", "[{name: aws, labelSelector: {matchLabels: {a: b}}},"), "spec.secretStoreRefs[0]: name and labelSelector are exclusive"},
		{"a store of another kind", edit("{name: aws}", "{name: aws, kind: Vault}"), `spec.secretStoreRefs[0].kind: "Vault" is not a store kind`},
		{"no store", edit("secretStoreRefs: [{name: aws}, {name: shared, kind: ClusterSecretStore}]", "secretStoreRefs: []"), "spec.secretStoreRefs: required"},
		{"a generatorRef of a kind secretsync does not run", edit("selector: {secret: {name: src}}", "selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Vault, name: pw}}"), "spec.selector.generatorRef: generator kind Vault"},
		{"a generatorRef beside a secret", edit("selector: {secret: {name: src}}", "selector: {secret: {name: src}, generatorRef: {kind: Password, name: pw}}"), "spec.selector: secret and generatorRef are exclusive"},
		{"a source selector that selects every Secret", edit("{secret: {name: src}}", "{secret: {selector: {}}}"), "spec.selector.secret.selector: selects every Secret of the namespace"},
		{"a source selector of only DoesNotExist and NotIn, which selects every unlabelled Secret", edit("{secret: {name: src}}", "{secret: {selector: {matchExpressions: [{key: team, operator: DoesNotExist}, {key: tier, operator: NotIn, values: [web]}]}}}"), "spec.selector.secret.selector: selects every Secret of the namespace"},
		{"a source both named and label-selected", edit("{secret: {name: src}}", "{secret: {name: src, selector: {matchLabels: {a: b}}}}"), "spec.selector.secret: name and selector are exclusive"},
		{"a source Secret in another namespace", edit("{secret: {name: src}}", "{secret: {name: src, namespace: b}}"), `unknown field "spec.selector.secret.namespace"`},
		{"no source", edit("selector: {secret: {name: src}}", "selector: {}"), "spec.selector.secret: required"},
		{"dataTo without a store", edit("  data:\n", "  dataTo: [{match: {regexp: a}}]\n  data:\n"), "spec.dataTo[0].storeRef: required"},
		{"dataTo to a store not listed", edit("  data:\n", "  dataTo: [{storeRef: {name: other}}]\n  data:\n"), `spec.dataTo[0].storeRef.name: SecretStore "other" is not in spec.secretStoreRefs`},
		{"dataTo to a store named and label-selected", edit("  data:\n", "  dataTo: [{storeRef: {name: aws, labelSelector: {matchLabels: {a: b}}}}]\n  data:\n"), "spec.dataTo[0].storeRef: name and labelSelector are exclusive"},
		{"dataTo to label-selected stores of another kind", edit("  data:\n", "  dataTo: [{storeRef: {kind: Vault, labelSelector: {matchLabels: {a: b}}}}]\n  data:\n"), `spec.dataTo[0].storeRef.kind: "Vault" is not a store kind`},
		{"dataTo with a bad regexp", edit("  data:\n", "  dataTo: [{storeRef: {name: aws}, match: {regexp: '('}}]\n  data:\n"), "spec.dataTo[0].match.regexp: invalid regexp"},
		{"dataTo with a merge rewrite", edit("  data:\n", "  dataTo: [{storeRef: {name: aws}, rewrite: [{merge: {}}]}]\n  data:\n"), "spec.dataTo[0].rewrite[0].merge: is not a PushSecret rewrite"},
		{"dataTo with a rewrite target longer than a remote key", edit("  data:\n", "  dataTo: [{storeRef: {name: aws}, rewrite: [{regexp: {source: a, target: "+strings.Repeat("x", 513)+"}}]}]\n  data:\n"), "spec.dataTo[0].rewrite[0].regexp.target: is longer than a remote key may be"},
		{"a template that does not parse", edit("  data:\n", "  template: {data: {a: '{{ .x'}}\n  data:\n"), "spec.template.data.a:"},
		{"metadata that is not an object", edit("- match: {secretKey: k, remoteRef: {remoteKey: app/k}}", "- match: {secretKey: k, remoteRef: {remoteKey: app/k}}\n    metadata: [1]"), "spec.data[0].metadata: must be an object"},
		{"an ExternalSecret conversionStrategy", edit("- match: {secretKey: k, remoteRef: {remoteKey: app/k}}", "- match: {secretKey: k, remoteRef: {remoteKey: app/k}}\n    conversionStrategy: Unicode"), `spec.data[0].conversionStrategy: "Unicode" is not valid; use None or ReverseUnicode`},
		{"an unknown updatePolicy", edit("IfNotExists", "Always"), `spec.updatePolicy: "Always" is not valid`},
		{"an unknown deletionPolicy", edit("deletionPolicy: Delete", "deletionPolicy: Orphan"), `spec.deletionPolicy: "Orphan" is not valid`},
		{"no remoteKey", edit("{secretKey: k, remoteRef: {remoteKey: app/k}}", "{secretKey: k, remoteRef: {property: x}}"), "spec.data[0].match.remoteRef.remoteKey: required"},
		{"a remoteKey written as an ARN", edit("remoteKey: app/k}", "remoteKey: 'arn:aws:secretsmanager:us-east-1:1:secret:team-b/db'}"), "spec.data[0].match.remoteRef.remoteKey: is an ARN"},
		{"a dataTo remoteKey written as an ARN", edit("  data:\n", "  dataTo: [{storeRef: {name: aws}, remoteKey: 'arn:aws:ssm:us-east-1:1:parameter/b'}]\n  data:\n"), "spec.dataTo[0].remoteKey: is an ARN"},
		{"two entries on one remote key", edit("remoteKey: app/all", "remoteKey: app/k"), "spec.data[2].match.remoteRef: pushes to the same remote key and property as spec.data[0]"},
		{"the whole of a remote key one of whose properties is pushed", edit("remoteKey: app/all", "remoteKey: app/json"),
			"spec.data[2].match.remoteRef: pushes the whole of remote key app/json, which spec.data[1] also pushes to: they would overwrite each other at every pass"},
		{"a property of a remote key pushed whole", edit("{remoteKey: app/json, property: user}", "{remoteKey: app/k, property: user}"),
			"spec.data[1].match.remoteRef: pushes a property of remote key app/k, which spec.data[0] pushes whole: they would overwrite each other at every pass"},
		{"a data entry on a dataTo bundle's remote key", edit("  data:\n", "  dataTo: [{storeRef: {name: aws}, remoteKey: app/k}]\n  data:\n"),
			"spec.data[0].match.remoteRef: pushes the whole of remote key app/k, which spec.dataTo[0] also pushes to"},
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

// validate reports every problem of a PushSecret's entry, one error each
// naming its field, not only the first: a data entry with bad metadata, a
// bad conversion and an ARN remote key; a dataTo entry with a store of no
// store kind, a bad regexp, a merge rewrite, a remote key with spaces, bad
// metadata and a bad conversion.
func TestPushSecretEntryReportsEveryProblemByField(t *testing.T) {
	file := strings.Replace(pushOK, "  data:\n",
		"  dataTo:\n  - storeRef: {name: aws, kind: Vault}\n    match: {regexp: '('}\n    rewrite: [{merge: {}}]\n    remoteKey: ' app/b'\n    metadata: x\n    conversionStrategy: Unicode\n"+
			"  data:\n  - match: {secretKey: k, remoteRef: {remoteKey: 'arn:aws:secretsmanager:us-east-1:1:secret:k'}}\n    metadata: [1]\n    conversionStrategy: Unicode\n", 1)
	set := mustRender(t, tree(t, map[string]string{"p.yaml": file}), ".")
	var fields []string
	for _, e := range set.Errors {
		fields = append(fields, e.Field)
	}
	want := []string{
		"spec.dataTo[0].storeRef.kind", "spec.dataTo[0].match.regexp", "spec.dataTo[0].rewrite[0].merge", "spec.dataTo[0].remoteKey",
		"spec.dataTo[0].metadata", "spec.dataTo[0].conversionStrategy",
		"spec.data[0].metadata", "spec.data[0].conversionStrategy", "spec.data[0].match.remoteRef.remoteKey",
	}
	if strings.Join(fields, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors name %q, want one per problem: %q\n%q", fields, want, errorTexts(set))
	}
}
