package render_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/internal/hostile"
	"github.com/secretsync/secretsync/render"
)

// tree writes files (path -> content) below a new temp dir.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const store = `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws}
spec:
  provider:
    aws: {service: SecretsManager, region: eu-west-1}
`

func es(name, key string) string {
	return `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: ` + name + `}
spec:
  secretStoreRef: {name: aws}
  data:
    - secretKey: value
      remoteRef: {key: ` + key + `}
`
}

func mustRender(t *testing.T, dir, path string) *render.Set {
	t.Helper()
	set, err := render.Render(context.Background(), dir, path, render.Options{})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return set
}

type summary struct{ Kind, Namespace, Name, Source string }

func summarize(set *render.Set) []summary {
	var out []summary
	for _, s := range set.Stores {
		out = append(out, summary{s.Kind, s.Namespace, s.Name, s.Source})
	}
	for _, e := range set.ExternalSecrets {
		out = append(out, summary{render.KindExternalSecret, e.Namespace, e.Name, e.Source})
	}
	return out
}

func errorTexts(set *render.Set) []string {
	var out []string
	for _, e := range set.Errors {
		out = append(out, e.Error())
	}
	return out
}

func TestKustomizeOverlayKeepsEachObjectsFile(t *testing.T) {
	dir := tree(t, map[string]string{
		"base/kustomization.yaml":          "resources: [store.yaml, db.yaml]\n",
		"base/store.yaml":                  store,
		"base/db.yaml":                     es("db", "prod/db"),
		"overlays/prod/kustomization.yaml": "namespace: prod\nresources: [../../base, api.yaml]\n",
		"overlays/prod/api.yaml":           es("api", "prod/api"),
	})
	set := mustRender(t, dir, "overlays/prod")
	want := []summary{
		{"SecretStore", "prod", "aws", "base/store.yaml"},
		{"ExternalSecret", "prod", "api", "overlays/prod/api.yaml"},
		{"ExternalSecret", "prod", "db", "base/db.yaml"},
	}
	if diff := cmp.Diff(want, summarize(set)); diff != "" {
		t.Fatalf("rendered objects (-want +got):\n%s", diff)
	}
	if len(set.Errors) != 0 {
		t.Fatalf("errors: %v", errorTexts(set))
	}
	for _, e := range set.ExternalSecrets {
		if _, ok := e.Annotations["config.kubernetes.io/origin"]; ok {
			t.Fatalf("%s keeps kustomize's origin annotation", e.Name)
		}
	}
}

func TestAFolderWithoutKustomizationIsAllItsYAML(t *testing.T) {
	dir := tree(t, map[string]string{
		"secrets/store.yaml":         store,
		"secrets/team-a/apps.yml":    es("a", "k/a") + "---\n# only a comment\n---\n" + es("b", "k/b"),
		"secrets/README.md":          "not yaml",
		"secrets/team-a/config.json": "{}",
	})
	set := mustRender(t, dir, "secrets")
	want := []summary{
		{"SecretStore", "default", "aws", "secrets/store.yaml"},
		{"ExternalSecret", "default", "a", "secrets/team-a/apps.yml"},
		{"ExternalSecret", "default", "b", "secrets/team-a/apps.yml"},
	}
	if diff := cmp.Diff(want, summarize(set)); diff != "" {
		t.Fatalf("rendered objects (-want +got):\n%s", diff)
	}
}

func TestV1beta1DecodesLikeV1(t *testing.T) {
	dir := tree(t, map[string]string{
		"es.yaml": strings.Replace(es("old", "k"), "external-secrets.io/v1", "external-secrets.io/v1beta1", 1),
	})
	set := mustRender(t, dir, ".")
	if len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Spec.Data[0].RemoteRef.Key != "k" {
		t.Fatalf("v1beta1 object not decoded: %+v, errors %v", set.ExternalSecrets, errorTexts(set))
	}
}

// TestNullBytePolicyMergeAndValuesDecodingAreRead: ESO 2.9.0's
// find.nullBytePolicy, rewrite[].merge and templateFrom[].valuesDecodingStrategy
// decode into their fields, neither unknown nor refused.
func TestNullBytePolicyMergeAndValuesDecodingAreRead(t *testing.T) {
	dir := tree(t, map[string]string{"es.yaml": `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: x}
spec:
  secretStoreRef: {name: aws}
  target:
    template:
      templateFrom: [{literal: 'a: b', valuesDecodingStrategy: Base64URL}]
  dataFrom:
    - find: {path: app/, nullBytePolicy: Fail}
      rewrite:
        - regexp: {source: "app/(.*)", target: "$1"}
        - merge: {into: all, priority: [b, a], priorityPolicy: IgnoreNotFound, conflictPolicy: Ignore, strategy: JSON}
`})
	set := mustRender(t, dir, ".")
	if len(set.Errors) > 0 {
		t.Fatal(errorTexts(set))
	}
	sp := set.ExternalSecrets[0].Spec
	if got := sp.DataFrom[0].Find.NullBytePolicy; got != "Fail" {
		t.Fatalf("find.nullBytePolicy = %q", got)
	}
	want := &render.RewriteMerge{Into: "all", Priority: []string{"b", "a"}, PriorityPolicy: "IgnoreNotFound", ConflictPolicy: "Ignore", Strategy: "JSON"}
	if diff := cmp.Diff(want, sp.DataFrom[0].Rewrite[1].Merge); diff != "" {
		t.Fatalf("merge (-want +got):\n%s", diff)
	}
	if got := sp.Target.Template.TemplateFrom[0].ValuesDecodingStrategy; got != "Base64URL" {
		t.Fatalf("valuesDecodingStrategy = %q", got)
	}
}

func TestNestedFieldsDecode(t *testing.T) {
	dir := tree(t, map[string]string{"es.yaml": `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: full, namespace: team}
spec:
  secretStoreRef: {name: aws, kind: ClusterSecretStore}
  refreshInterval: 15m
  target: {name: out, creationPolicy: Owner}
  data:
    - secretKey: pw
      remoteRef: {key: db, property: a.b, version: uuid/123, decodingStrategy: Base64}
  dataFrom:
    - extract: {key: all, version: AWSPREVIOUS}
      sourceRef: {storeRef: {name: other, kind: SecretStore}}
`})
	set := mustRender(t, dir, ".")
	if len(set.Errors) > 0 {
		t.Fatal(errorTexts(set))
	}
	got := set.ExternalSecrets[0].Spec
	want := render.ExternalSecretSpec{
		SecretStoreRef:  render.SecretStoreRef{Name: "aws", Kind: "ClusterSecretStore"},
		RefreshInterval: got.RefreshInterval,
		Target:          render.Target{Name: "out", CreationPolicy: "Owner"},
		Data: []render.Data{{SecretKey: "pw", RemoteRef: render.RemoteRef{
			Key: "db", Property: "a.b", Version: "uuid/123", DecodingStrategy: "Base64"}}},
		DataFrom: []render.DataFrom{{
			Extract:   &render.RemoteRef{Key: "all", Version: "AWSPREVIOUS"},
			SourceRef: &render.SourceRef{StoreRef: &render.SecretStoreRef{Name: "other", Kind: "SecretStore"}},
		}},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(render.Duration{})); diff != "" {
		t.Fatalf("spec (-want +got):\n%s", diff)
	}
	if got.RefreshInterval == nil || got.RefreshInterval.Minutes() != 15 {
		t.Fatalf("refreshInterval = %v", got.RefreshInterval)
	}
}

func TestPerObjectErrorsNameFileObjectAndField(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"an unknown field is an error, not ignored", es("x", "k") + "  refreshIntervall: 1h\n",
			`x.yaml: ExternalSecret default/x: unknown field "spec.refreshIntervall"`},
		{"a missing remote key", strings.Replace(es("x", "k"), "remoteRef: {key: k}", "remoteRef: {property: p}", 1),
			"x.yaml: ExternalSecret default/x: spec.data[0].remoteRef.key: required"},
		{"a duplicate secretKey", es("x", "k") + "    - secretKey: value\n      remoteRef: {key: other}\n",
			`x.yaml: ExternalSecret default/x: spec.data[1].secretKey: "value" is also set by spec.data[0]`},
		{"neither data nor dataFrom", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {secretStoreRef: {name: aws}}\n",
			"x.yaml: ExternalSecret default/x: spec: data or dataFrom is required"},
		{"a Secret carrying values", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: hunter2}\n",
			"x.yaml: Secret default/x: data: a Secret with values is refused: values do not belong in Git"},
		{"a provider other than aws", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: x}\nspec: {provider: {vault: {server: v}}}\n",
			`spec.provider.vault: provider "vault" is not supported`},
		{"a feature not built yet is refused, not dropped", strings.Replace(es("x", "k"), "remoteRef: {key: k}", "remoteRef: {key: k}\n      sourceRef: {generatorRef: {name: g}}", 1),
			"spec.data[0].sourceRef.generatorRef: a generator is read in dataFrom only"},
		// ESO 2.9.0 fields secretsync does not implement are refused by
		// name, never reported as an unknown field (which reads like a typo).
		{"a generator kind secretsync does not run, in dataFrom", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  dataFrom: [{sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Webhook, name: p}}}]\n",
			"spec.dataFrom[0].sourceRef.generatorRef: generator kind Webhook is not supported yet"},
		{"a generator with a spec field its kind lacks", "apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: p}\nspec: {lenght: 12}\n",
			`x.yaml: Password default/p: spec: unknown field "lenght"`},
		{"a target.manifest of a kind other than ConfigMap", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {manifest: {apiVersion: apps/v1, kind: Deployment}}\n", 1),
			"spec.target.manifest: apps/v1 Deployment is refused: secretsync writes Secrets and v1 ConfigMaps only"},
		{"a ConfigMap target named as an inventory (its rows decide prune and refresh)", strings.Replace(es("secretsync-inventory-prod", "k"), "spec:\n", "spec:\n  target: {manifest: {apiVersion: v1, kind: ConfigMap}}\n", 1),
			"spec.target.name: a ConfigMap named secretsync-inventory-prod is refused"},
		{"a target.manifest without a kind", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {manifest: {apiVersion: v1}}\n", 1),
			"spec.target.manifest.kind: required"},
		{"a ConfigMap target merged into", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {creationPolicy: Merge, manifest: {apiVersion: v1, kind: ConfigMap}}\n", 1),
			"spec.target.creationPolicy: Merge is refused for a ConfigMap target"},
		{"a ConfigMap target with a type", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {manifest: {apiVersion: v1, kind: ConfigMap}, template: {type: Opaque}}\n", 1),
			"spec.target.template.type: is refused for a ConfigMap target"},
		{"a ConfigMap target with mergePolicy Merge", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {manifest: {apiVersion: v1, kind: ConfigMap}, template: {mergePolicy: Merge}}\n", 1),
			"spec.target.template.mergePolicy: Merge is refused for a ConfigMap target"},
		{"rewrite.merge with strategy JSON and no into", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{extract: {key: k}, rewrite: [{merge: {strategy: JSON}}]}]\n",
			"spec.dataFrom[0].rewrite[0].merge.into: required with strategy JSON"},
		{"rewrite.merge into a key the API server would refuse", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{extract: {key: k}, rewrite: [{merge: {strategy: JSON, into: 'a/b'}}]}]\n",
			`spec.dataFrom[0].rewrite[0].merge.into: "a/b" is not a valid Secret key`},
		{"rewrite.merge with a strategy ESO lacks", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{extract: {key: k}, rewrite: [{merge: {strategy: Deep}}]}]\n",
			`spec.dataFrom[0].rewrite[0].merge.strategy: must be Extract or JSON, not "Deep"`},
		{"rewrite.merge with a conflictPolicy ESO lacks", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{extract: {key: k}, rewrite: [{merge: {conflictPolicy: Last}}]}]\n",
			`spec.dataFrom[0].rewrite[0].merge.conflictPolicy: must be Ignore or Error, not "Last"`},
		{"rewrite.merge with a priorityPolicy ESO lacks", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{extract: {key: k}, rewrite: [{merge: {priorityPolicy: Loose}}]}]\n",
			`spec.dataFrom[0].rewrite[0].merge.priorityPolicy: must be IgnoreNotFound or Strict, not "Loose"`},
		{"a rewrite with merge and regexp", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{extract: {key: k}, rewrite: [{merge: {}, regexp: {source: a, target: b}}]}]\n",
			"spec.dataFrom[0].rewrite[0]: exactly one of merge, regexp and transform is required"},
		{"rewrite.merge of a generator's values", "apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: p}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  dataFrom: [{sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: p}}, rewrite: [{merge: {}}]}]\n",
			"spec.dataFrom[0].rewrite[0].merge: is refused for a generator: its values are not JSON objects, so ESO's merge fails on every sync"},
		{"find.nullBytePolicy other than Ignore or Fail", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  secretStoreRef: {name: aws}\n  dataFrom: [{find: {path: a/, nullBytePolicy: Drop}}]\n",
			`spec.dataFrom[0].find.nullBytePolicy: must be Ignore or Fail, not "Drop"`},
		{"syncWindows", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  syncWindows: {windows: []}\n", 1),
			"spec.syncWindows: syncWindows is not supported yet"},
		{"valuesDecodingStrategy other than None, Base64, Base64URL or Auto", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {templateFrom: [{literal: 'a: b', valuesDecodingStrategy: Hex}]}}\n", 1),
			`spec.target.template.templateFrom[0].valuesDecodingStrategy: must be None, Base64, Base64URL or Auto, not "Hex"`},
		{"template.metadata.finalizers", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {metadata: {finalizers: [example.com/hold]}}}\n", 1),
			"spec.target.template.metadata.finalizers: is refused: a finalizer that no controller removes makes the Secret undeletable"},
		{"a templateFrom target ESO does not know", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {templateFrom: [{literal: 'a: b', target: spec}]}}\n", 1),
			`spec.target.template.templateFrom[0].target: must be Data, Labels or Annotations (in any case), not "spec"`},
		{"sessionTagsPolicy other than None, Simple or Custom", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, role: arn:aws:iam::1:role/r, sessionTagsPolicy: Full}}}\n",
			`x.yaml: ClusterSecretStore s: spec.provider.aws.sessionTagsPolicy: must be None, Simple or Custom, not "Full"`},
		{"sessionTagsPolicy without a role", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, sessionTagsPolicy: Simple}}}\n",
			"spec.provider.aws.role: required when externalID, sessionTags, sessionTagsPolicy or transitiveTagKeys are set"},
		{"sessionTagsPolicy with sessionTags", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, role: arn:aws:iam::1:role/r, sessionTagsPolicy: Simple, sessionTags: [{key: a, value: b}]}}}\n",
			"spec.provider.aws.sessionTags: is refused with sessionTagsPolicy Simple: ESO replaces these tags with the policy's, so put them in customSessionTags with sessionTagsPolicy Custom"},
		{"customSessionTags without sessionTagsPolicy Custom", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, role: arn:aws:iam::1:role/r, customSessionTags: {a: b}}}}\n",
			"spec.provider.aws.customSessionTags: is refused without sessionTagsPolicy Custom: ESO uses them only then"},
		{"customSessionTags with a key ESO sets", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, role: arn:aws:iam::1:role/r, sessionTagsPolicy: Custom, customSessionTags: {esoNamespace: b}}}}\n",
			"spec.provider.aws.customSessionTags.esoNamespace: is refused: esoNamespace, esoStoreName and esoStoreKind are set by sessionTagsPolicy"},
		{"customSessionTags with an empty value", "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, role: arn:aws:iam::1:role/r, sessionTagsPolicy: Custom, customSessionTags: {a: ''}}}}\n",
			"spec.provider.aws.customSessionTags.a: an empty value is refused: ESO drops such a tag"},
		// Store fields ESO reads and secretsync has no use for are refused
		// by name, never accepted and ignored.
		{"a store's controller", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {controller: dev, provider: {aws: {service: SecretsManager}}}\n",
			"x.yaml: SecretStore default/s: spec.controller: is refused: secretsync has no controller class, so it would serve a store meant for another controller"},
		{"a store's retrySettings that ESO would retry without end", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {retrySettings: {maxRetries: 0}, provider: {aws: {service: SecretsManager}}}\n",
			"spec.retrySettings.maxRetries: must be between 1 and 10, not 0: it is the number of attempts of each AWS call (ESO retries without end at 0 or below)"},
		{"a store's retrySettings above the bound", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {retrySettings: {maxRetries: 1000}, provider: {aws: {service: SecretsManager}}}\n",
			"spec.retrySettings.maxRetries: must be between 1 and 10, not 1000"},
		{"a store's retryInterval that is no duration", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {retrySettings: {retryInterval: soon}, provider: {aws: {service: SecretsManager}}}\n",
			`spec.retrySettings.retryInterval: is not a duration such as "10s"`},
		{"a store's retryInterval above the bound", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {retrySettings: {maxRetries: 3, retryInterval: 1h}, provider: {aws: {service: SecretsManager}}}\n",
			"spec.retrySettings.retryInterval: must be at most 1m0s, not 1h0m0s: each retry of a call holds the pass"},
		{"a store's refreshInterval, in seconds", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {refreshInterval: 60, provider: {aws: {service: SecretsManager}}}\n",
			"spec.refreshInterval: is refused: it is how often ESO checks the store; secretsync checks every store at every pass"},
		{"a store's refreshInterval, as a duration", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {refreshInterval: 1h, provider: {aws: {service: SecretsManager}}}\n",
			"spec.refreshInterval: is refused: it is how often ESO checks the store"},
		{"provider.aws.secretsManager with another service", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: ParameterStore, secretsManager: {forceDeleteWithoutRecovery: true}}}}\n",
			"spec.provider.aws.secretsManager: is refused with service ParameterStore"},
		{"provider.aws.secretsManager with both settings", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, secretsManager: {forceDeleteWithoutRecovery: true, recoveryWindowInDays: 7}}}}\n",
			"forceDeleteWithoutRecovery and recoveryWindowInDays are refused together"},
		{"provider.aws.secretsManager with a short window", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {service: SecretsManager, secretsManager: {recoveryWindowInDays: 3}}}}\n",
			"spec.provider.aws.secretsManager.recoveryWindowInDays: must be from 7 to 30 days"},
		{"a ClusterExternalSecret that chooses no namespace", "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {name: c}\nspec:\n  externalSecretSpec: {secretStoreRef: {name: aws}, data: [{secretKey: k, remoteRef: {key: k}}]}\n",
			"x.yaml: ClusterExternalSecret c: spec: namespaces or namespaceSelectors is required"},
		{"a ClusterExternalSecret's spec is checked as its ExternalSecrets' are", "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {name: c}\nspec:\n  namespaces: [a]\n  externalSecretSpec: {secretStoreRef: {name: aws}, data: [{secretKey: 'bad key', remoteRef: {key: k}}]}\n",
			`spec.externalSecretSpec.data[0].secretKey: "bad key" is not a valid Secret key`},
		{"a template function secretsync lacks", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {data: {a: '{{ .value | noSuchFunc }}'}}}\n", 1),
			"function noSuchFunc is not supported by secretsync"},
		{"a secretKey the API server would refuse", strings.Replace(es("x", "k"), "secretKey: value", "secretKey: 'bad key'", 1),
			`x.yaml: ExternalSecret default/x: spec.data[0].secretKey: "bad key" is not a valid Secret key`},
		{"a template key the API server would refuse", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {data: {'a/b': 'x'}}}\n", 1),
			`spec.target.template.data.a/b: "a/b" is not a valid Secret key`},
		{"a template that does not parse", strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {data: {k: '{{ .v '}}}\n", 1),
			"spec.target.template.data.k: template: k:1: unclosed action"},
		{"broken YAML names the file", "apiVersion: v1\nkind: [unclosed\n", "x.yaml: document 1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tree(t, map[string]string{"x.yaml": c.file, "ok.yaml": es("fine", "k")})
			set := mustRender(t, dir, ".")
			errs := errorTexts(set)
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Fatalf("errors = %q, want one containing %q", errs, c.want)
			}
			if len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Name != "fine" {
				t.Fatalf("the good object next to the broken one was not kept: %+v", summarize(set))
			}
			if strings.Contains(strings.Join(errs, ""), "hunter2") {
				t.Fatal("an error quotes the Secret's value")
			}
		})
	}
}

// TestTemplateFromTargetIsMatchedInAnyCase: ESO 2.9.0 matches Data, Labels
// and Annotations case-blind, so each spelling decodes without an error.
func TestTemplateFromTargetIsMatchedInAnyCase(t *testing.T) {
	for _, target := range []string{"Data", "data", "DATA", "Labels", "labels", "Annotations", "annotations", "aNNotations"} {
		t.Run(target, func(t *testing.T) {
			dir := tree(t, map[string]string{"x.yaml": strings.Replace(es("x", "k"), "spec:\n", "spec:\n  target: {template: {templateFrom: [{literal: 'a: b', target: "+target+"}]}}\n", 1)})
			set := mustRender(t, dir, ".")
			if errs := errorTexts(set); len(errs) > 0 {
				t.Fatalf("target %q: %q", target, errs)
			}
			if got := set.ExternalSecrets[0].Spec.Target.Template.TemplateFrom[0].Into(); strings.ToLower(got) != strings.ToLower(target) {
				t.Fatalf("target %q is read as %q", target, got)
			}
		})
	}
}

func TestOtherKubernetesKindsAreSkipped(t *testing.T) {
	dir := tree(t, map[string]string{
		"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
		"deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n",
		"es.yaml":     es("x", "k"),
	})
	set := mustRender(t, dir, ".")
	var kinds []string
	for _, s := range set.Skipped {
		kinds = append(kinds, s.Kind)
	}
	if diff := cmp.Diff([]string{"ConfigMap", "Deployment"}, kinds); diff != "" {
		t.Fatalf("skipped (-want +got):\n%s", diff)
	}
	if len(set.Errors) != 0 {
		t.Fatalf("errors: %q", errorTexts(set))
	}
}

func TestESOObjectsSecretsyncDoesNotHandleAreErrors(t *testing.T) {
	esWith := func(apiVersion, kind string) string {
		return strings.Replace(strings.Replace(es("typo", "k"), "apiVersion: external-secrets.io/v1", "apiVersion: "+apiVersion, 1),
			"kind: ExternalSecret", "kind: "+kind, 1)
	}
	cases := []struct{ name, file, want string }{
		{"a group missing its s", esWith("external-secret.io/v1", "ExternalSecret"), "did you mean external-secrets.io?"},
		{"a group missing its dash", esWith("externalsecrets.io/v1", "ExternalSecret"), "did you mean external-secrets.io?"},
		{"a dot for the slash", esWith("external-secrets.io.v1", "ExternalSecret"), "did you mean external-secrets.io/v1?"},
		{"a plural kind", esWith("external-secrets.io/v1", "ExternalSecrets"), "did you mean ExternalSecret?"},
		{"a kind in the wrong case", esWith("external-secrets.io/v1", "Externalsecret"), "did you mean ExternalSecret?"},
		{"an ESO kind under the core group", esWith("v1", "ExternalSecret"), "did you mean apiVersion external-secrets.io/v1, kind ExternalSecret?"},
		{"a PushSecret with an ExternalSecret's spec", esWith("external-secrets.io/v1alpha1", "PushSecret"), `unknown field "spec.data[0].remoteRef"`},
		{"a ClusterPushSecret", esWith("external-secrets.io/v1alpha1", "ClusterPushSecret"), "ClusterPushSecret is refused: secretsync does not expand it yet"},
		{"a ClusterExternalSecret with an ExternalSecret's spec", esWith("external-secrets.io/v1", "ClusterExternalSecret"), `unknown field "spec.data"`},
		{"a generator secretsync does not run", esWith("generators.external-secrets.io/v1alpha1", "Webhook"), "kind Webhook (generators.external-secrets.io) is an External Secrets Operator generator secretsync does not run"},
	}
	for _, c := range cases {
		for _, layout := range []string{"folder", "kustomization"} {
			t.Run(c.name+" is an error naming the file and kind ("+layout+")", func(t *testing.T) {
				files := map[string]string{"typo.yaml": c.file, "ok.yaml": es("fine", "k")}
				if layout == "kustomization" {
					files["kustomization.yaml"] = "resources: [typo.yaml, ok.yaml]\n"
				}
				set := mustRender(t, tree(t, files), ".")
				errs := errorTexts(set)
				if len(errs) != 1 || !strings.Contains(errs[0], c.want) || !strings.HasPrefix(errs[0], "typo.yaml: ") {
					t.Fatalf("errors = %q, want one from typo.yaml containing %q", errs, c.want)
				}
				if len(set.Skipped) != 0 {
					t.Fatalf("skipped %+v", set.Skipped)
				}
			})
		}
	}
}

func TestNoFileIsSilentlyDropped(t *testing.T) {
	big := es("big", "k") + "# " + strings.Repeat("x", 9<<20) + "\n"
	t.Run("a file over the size limit is an error naming it and the limit", func(t *testing.T) {
		set := mustRender(t, tree(t, map[string]string{"big.yaml": big, "ok.yaml": es("fine", "k")}), ".")
		errs := errorTexts(set)
		if len(errs) != 1 || !strings.Contains(errs[0], "big.yaml") || !strings.Contains(errs[0], "over the 8 MiB limit") {
			t.Fatalf("errors = %q", errs)
		}
		if len(set.ExternalSecrets) != 1 {
			t.Fatalf("rendered %+v", summarize(set))
		}
	})
	t.Run("a big file under a kustomization is an error naming it", func(t *testing.T) {
		_, err := render.Render(context.Background(), tree(t, map[string]string{"big.yaml": big, "kustomization.yaml": "resources: [big.yaml]\n"}), ".", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "over the 8 MiB limit") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("upper-case extensions are read", func(t *testing.T) {
		set := mustRender(t, tree(t, map[string]string{"a.YAML": es("a", "k"), "b.Yml": es("b", "k")}), ".")
		if len(set.ExternalSecrets) != 2 {
			t.Fatalf("rendered %+v", summarize(set))
		}
	})
}

func TestAnyFileNameAnywhereIsFine(t *testing.T) {
	files := map[string]string{
		"design notes.md":               "notes",
		"docs/TLS Bootstrap.drawio.png": "png",
		"café/ünïcode.txt":              "x",
		"app/kustomization.yaml":        "resources: [es.yaml]\n",
		"app/es.yaml":                   es("x", "k"),
		"app/README notes.md":           "x",
		"plain/my secret.yaml":          es("spaced", "k"),
	}
	dir := tree(t, files)
	t.Run("a kustomization renders beside names kustomize's memory filesystem refuses", func(t *testing.T) {
		if set := mustRender(t, dir, "app"); len(set.ExternalSecrets) != 1 || len(set.Errors) != 0 {
			t.Fatalf("rendered %+v, errors %q", summarize(set), errorTexts(set))
		}
	})
	t.Run("a folder with a spaced YAML file name reads it", func(t *testing.T) {
		if set := mustRender(t, dir, "plain"); len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Source != "plain/my secret.yaml" {
			t.Fatalf("rendered %+v", summarize(set))
		}
	})
}

func TestAYAMLAliasBombIsRefused(t *testing.T) {
	for _, layout := range []string{"folder", "kustomization"} {
		t.Run("in a "+layout+", refused with a message naming the file", func(t *testing.T) {
			files := map[string]string{"bomb.yaml": hostile.AliasBomb(), "ok.yaml": es("fine", "k")}
			if layout == "kustomization" {
				files["kustomization.yaml"] = "resources: [bomb.yaml, ok.yaml]\n"
			}
			set, err := render.Render(context.Background(), tree(t, files), ".", render.Options{})
			msg := ""
			if err != nil {
				msg = err.Error()
			} else {
				msg = strings.Join(errorTexts(set), "\n")
			}
			if !strings.Contains(msg, "bomb.yaml") || !strings.Contains(msg, "alias") {
				t.Fatalf("err = %v, errors = %q", err, msg)
			}
		})
	}
}

func TestOneFailingFolderDoesNotStopTheOthers(t *testing.T) {
	dir := tree(t, map[string]string{
		"kustomization.yaml":        "resources: [team-a, team-b]\n",
		"team-a/kustomization.yaml": "resources: [es.yaml]\n",
		"team-a/es.yaml":            es("a", "k"),
		"team-b/kustomization.yaml": "resources: [es.yaml]\n",
		"team-b/es.yaml":            "apiVersion: external-secrets.io/v1\nkind: [unclosed\n",
	})
	set := mustRender(t, dir, ".")
	if len(set.ExternalSecrets) != 1 || set.ExternalSecrets[0].Name != "a" {
		t.Fatalf("rendered %+v", summarize(set))
	}
	if errs := errorTexts(set); len(errs) != 1 || !strings.Contains(errs[0], "team-b") {
		t.Fatalf("errors = %q", errs)
	}
}

func TestRenderStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := render.Render(ctx, tree(t, map[string]string{"kustomization.yaml": "resources: [es.yaml]\n", "es.yaml": es("x", "k")}), ".", render.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestTheRepoIsConfined(t *testing.T) {
	outside := tree(t, map[string]string{"leak.yaml": es("leak", "k"), "kustomization.yaml": "resources: [leak.yaml]\n"})

	t.Run("a remote base is refused with a clear error", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources:\n  - https://github.com/example/repo//secrets?ref=main\n"})
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "remote bases are refused") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a remote patch file is refused", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources: [es.yaml]\npatches:\n  - path: https://example.com/p.yaml\n", "es.yaml": es("x", "k")})
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "is remote") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a base outside the repo does not exist", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources: [" + outside + "]\n"})
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil {
			t.Fatal("a kustomization reached a folder outside the repo")
		}
	})
	t.Run("a symlink out of the repo is not followed", func(t *testing.T) {
		dir := tree(t, map[string]string{"es.yaml": es("x", "k")})
		if err := os.Symlink(filepath.Join(outside, "leak.yaml"), filepath.Join(dir, "leak.yaml")); err != nil {
			t.Fatal(err)
		}
		set := mustRender(t, dir, ".")
		for _, e := range set.ExternalSecrets {
			if e.Name == "leak" {
				t.Fatal("rendered a file from outside the repo through a symlink")
			}
		}
	})
	t.Run("a kustomization entry that is a symlink out of the repo says so", func(t *testing.T) {
		dir := tree(t, map[string]string{"kustomization.yaml": "resources: [linked]\n"})
		if err := os.Symlink(outside, filepath.Join(dir, "linked")); err != nil {
			t.Fatal(err)
		}
		_, err := render.Render(context.Background(), dir, ".", render.Options{})
		if err == nil || !strings.Contains(err.Error(), "symlink that points outside the repo") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a path that climbs out is refused", func(t *testing.T) {
		dir := tree(t, map[string]string{"es.yaml": es("x", "k")})
		if _, err := render.Render(context.Background(), dir, "../", render.Options{}); err == nil {
			t.Fatal("path ../ was accepted")
		}
	})
}

func TestExamplesRender(t *testing.T) {
	examples, err := filepath.Glob("../examples/*")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, ex := range examples {
		if st, err := os.Stat(ex); err != nil || !st.IsDir() || filepath.Base(ex) == "ci" || filepath.Base(ex) == "release" {
			continue // examples/ci and examples/release hold CI jobs, checked in cmd/secretsync and internal/installtest
		}
		t.Run(filepath.Base(ex)+" renders cleanly", func(t *testing.T) {
			set := mustRender(t, ex, ".")
			if len(set.Errors) > 0 {
				t.Fatal(errorTexts(set))
			}
			if len(set.ExternalSecrets) == 0 {
				t.Fatal("no ExternalSecrets")
			}
		})
	}
}

func TestFolderModeOnARealRepo(t *testing.T) {
	dir := tree(t, map[string]string{
		"es.yaml":                  es("x", "k"),
		"values.yaml":              "replicas: 3\nimage: {tag: v1}\n",
		".github/workflows/ci.yml": "on: push\njobs: {test: {runs-on: ubuntu-latest}}\n",
		"half.yaml":                "kind: ExternalSecret\nmetadata: {name: half}\n",
		"lost.yaml":                "metadata: {name: lost}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: k}}]\n",
		"chart/Chart.yaml":         "apiVersion: v2\nname: app\nversion: 1.0.0\n",
		"chart/templates/es.yaml":  "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: {{ .Release.Name }}}\n",
		".secretsyncignore":        "# generated\nscratch/\n*.draft.yaml\n",
		"scratch/es.yaml":          "kind: [unclosed\n",
		"team/wip.draft.yaml":      "kind: [unclosed\n",
		"team/.secretsyncignore":   "old.yaml\n",
		"team/old.yaml":            "kind: [unclosed\n",
		"team/es.yaml":             es("team-x", "k"),
	})
	set := mustRender(t, dir, ".")
	if diff := cmp.Diff([]string{"default/team-x", "default/x"}, esNames(set)); diff != "" {
		t.Fatalf("ExternalSecrets (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, s := range set.Skipped {
		skipped = append(skipped, s.Source+" "+s.Kind)
	}
	if diff := cmp.Diff([]string{".github/workflows/ci.yml ", "chart HelmChart", "values.yaml "}, sortedCopy(skipped)); diff != "" {
		t.Fatalf("skipped (-want +got):\n%s", diff)
	}
	errs := errorTexts(set)
	if len(errs) != 2 || !strings.Contains(strings.Join(errs, "\n"), "half.yaml: ExternalSecret default/half: apiVersion: required") ||
		!strings.Contains(strings.Join(errs, "\n"), "lost.yaml: ") {
		t.Fatalf("errors = %q", errs)
	}
}

func esNames(set *render.Set) []string {
	var out []string
	for _, e := range set.ExternalSecrets {
		out = append(out, e.Namespace+"/"+e.Name)
	}
	return out
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func TestDurationsPrintAsWritten(t *testing.T) {
	set := mustRender(t, tree(t, map[string]string{"es.yaml": strings.Replace(es("x", "k"), "spec:\n", "spec:\n  refreshInterval: 1h\n", 1)}), ".")
	if len(set.ExternalSecrets) != 1 {
		t.Fatalf("errors = %q", errorTexts(set))
	}
	ri := set.ExternalSecrets[0].Spec.RefreshInterval
	b, err := json.Marshal(ri)
	if err != nil || string(b) != `"1h"` || ri.Duration != time.Hour {
		t.Fatalf("refreshInterval prints %s (%v), holds %v", b, err, ri.Duration)
	}
}

func TestEveryProblemOfAnObjectIsReported(t *testing.T) {
	bad := `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: x}
spec:
  secretStoreRef: {name: aws}
  target: {creationPolicy: Sometimes}
  refreshPolicy: Never
  data:
    - secretKey: ""
      remoteRef: {key: a}
    - secretKey: b
      remoteRef: {key: ""}
`
	set := mustRender(t, tree(t, map[string]string{"x.yaml": bad}), ".")
	var fields []string
	for _, e := range set.Errors {
		fields = append(fields, e.Field)
	}
	want := []string{"spec.data[0].secretKey", "spec.data[1].remoteRef.key", "spec.target.creationPolicy", "spec.refreshPolicy"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Fatalf("fields (-want +got):\n%s", diff)
	}
	if len(set.ExternalSecrets) != 0 {
		t.Fatal("an invalid ExternalSecret was kept")
	}
}

// TestDroppedFoldersThatHoldESOObjectsAreNamed: a folder render leaves out
// a Helm chart and what a .secretsyncignore excludes; each dropped folder
// (or file) that holds an ESO document is named with its reason and the
// objects in it, templated names included, and ones that hold none are not.
func TestDroppedFoldersThatHoldESOObjectsAreNamed(t *testing.T) {
	dir := tree(t, map[string]string{
		"es.yaml":                 es("x", "k"),
		"chart/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 1.0.0\n",
		"chart/templates/es.yaml": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: {{ .Release.Name }}}\n",
		"plain/Chart.yaml":        "apiVersion: v2\nname: plain\nversion: 1.0.0\n",
		"plain/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
		".secretsyncignore":       "old/\n*.draft.yaml\nnotes/\n",
		"old/db.yaml":             es("db", "k") + "---\n" + strings.Replace(es("cache", "k"), "name: cache", "name: cache, namespace: shop", 1),
		"old/store.yml":           "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager}}}\n",
		"notes/readme.yaml":       "title: nothing of ESO here\n",
		"team/wip.draft.yaml":     es("wip", "k"),
		"team/gen.draft.yaml":     "apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: team}\n",
		"team/keep.yaml":          es("team-x", "k"),
	})
	set := mustRender(t, dir, ".")
	if diff := cmp.Diff([]string{"default/team-x", "default/x"}, esNames(set)); diff != "" {
		t.Fatalf("ExternalSecrets (-want +got):\n%s", diff)
	}
	var got []string
	for _, d := range set.Dropped {
		var objs []string
		for _, o := range d.Objects {
			objs = append(objs, o.String())
		}
		got = append(got, d.Path+" ["+d.Reason+"]: "+strings.Join(objs, "; "))
	}
	want := []string{
		"chart [a Helm chart (chart/Chart.yaml)]: ExternalSecret in chart/templates/es.yaml",
		"old [excluded by .secretsyncignore]: ExternalSecret default/db in old/db.yaml; ExternalSecret shop/cache in old/db.yaml; SecretStore default/aws in old/store.yml",
		"team/gen.draft.yaml [excluded by .secretsyncignore]: Password team/pw in team/gen.draft.yaml",
		"team/wip.draft.yaml [excluded by .secretsyncignore]: ExternalSecret default/wip in team/wip.draft.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("dropped (-want +got):\n%s", diff)
	}
}
