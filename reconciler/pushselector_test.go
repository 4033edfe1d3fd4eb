package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Every label selector of a PushSecret takes matchLabels and
// matchExpressions together, end to end: selector.secret.selector picks
// the source Secrets of its namespace, secretStoreRefs[].labelSelector
// the stores rendered from Git, dataTo[].storeRef.labelSelector the
// stores among those a dataTo entry writes to. A Secret or store the
// expressions leave out is never read for the push nor written.
func TestPushSecretLabelSelectorsTakeMatchLabelsAndMatchExpressions(t *testing.T) {
	f := newFixture(t)
	store := func(name, prefix, labels string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: %s, namespace: %s, labels: %s}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1, prefix: %s}}}\n",
			name, f.ns, labels, prefix)
	}
	f.labelled(f.ns, "pay-db", map[string]string{"team": "pay", "tier": "db"}, map[string]string{"user": "selected-user-value", "db_pass": "selected-pass-value"})
	f.labelled(f.ns, "pay-web", map[string]string{"team": "pay", "tier": "web"}, map[string]string{"db_web": "web-tier-left-out"})
	f.labelled(f.ns, "ops-db", map[string]string{"team": "ops", "tier": "db"}, map[string]string{"db_ops": "ops-team-left-out"})
	f.commit(map[string]string{
		"stores.yaml": store("sa", "a/", "{use: push, side: a}") + "---\n" + store("sb", "b/", "{use: push, side: b}") + "---\n" + store("sc", "c/", "{use: push, side: c}"),
		"push.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: %s}
spec:
  secretStoreRefs:
  - labelSelector: {matchLabels: {use: push}, matchExpressions: [{key: side, operator: In, values: [a, b]}]}
  selector:
    secret:
      selector: {matchLabels: {team: pay}, matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}
  dataTo:
  - storeRef: {labelSelector: {matchExpressions: [{key: side, operator: NotIn, values: [a]}, {key: use, operator: Exists}]}}
    match: {regexp: "^db_"}
  data:
  - match: {secretKey: user, remoteRef: {remoteKey: app/user}}
`, f.ns)})
	if res := f.pass(); !res.OK() || res.Pushed != 3 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.remoteValue("a/app/user", "selected-user-value")
	f.remoteValue("b/app/user", "selected-user-value")
	f.remoteValue("b/db_pass", "selected-pass-value")
	for _, n := range []string{"c/app/user", "a/db_pass", "c/db_pass", "b/db_web", "b/db_ops", "a/db_web", "a/db_ops"} {
		if _, _, _, ok := f.remote(n); ok {
			t.Fatalf("%s pushed: a selector's expressions were not applied", n)
		}
	}
	var rows []string
	for _, r := range f.inventory().Pushed {
		rows = append(rows, r.Store+" "+r.Secret+" "+r.RemoteKey)
	}
	if len(rows) != 3 || strings.Contains(strings.Join(rows, "\n"), "/sc ") {
		t.Fatalf("rows %q, want three, through stores sa and sb", rows)
	}
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.Pushed != 0 || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("no-op pass: ok %v, pushed %d, calls %v", res.OK(), res.Pushed, f.sm.SM.Calls())
	}
}

// A PushSecret's template takes templateFrom as an ExternalSecret's does:
// a ConfigMap's and a Secret's items, each as one value (templateAs Values,
// the default) or as a map of keys to values (KeysAndValues), and a
// literal (a map of keys to values), all read through the PushSecret's own
// namespace.
func TestPushSecretTemplateFromItemsTemplateAs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tpl", Namespace: f.ns}, Data: map[string]string{
		"dsn":   "postgres://{{ .user }}@db",
		"pairs": "url: 'https://{{ .user }}@registry'\nhost: db.local\n",
	}}
	if _, err := env.Client.CoreV1().ConfigMaps(f.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tpls := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tpls", Namespace: f.ns}, StringData: map[string]string{
		"extra": "{{ .user | upper }}-extra",
	}}
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, tpls, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.source(f.ns, "src", map[string]string{"user": "templated-user"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", `  selector: {secret: {name: src}}
  template:
    templateFrom:
    - configMap: {name: tpl, items: [{key: dsn}, {key: pairs, templateAs: KeysAndValues}]}
    - secret: {name: tpls, items: [{key: extra, templateAs: Values}]}
    - literal: "lit: '{{ .user }}-lit'"
  data:
  - {match: {secretKey: dsn, remoteRef: {remoteKey: app/dsn}}}
  - {match: {secretKey: url, remoteRef: {remoteKey: app/url}}}
  - {match: {secretKey: host, remoteRef: {remoteKey: app/host}}}
  - {match: {secretKey: extra, remoteRef: {remoteKey: app/extra}}}
  - {match: {secretKey: lit, remoteRef: {remoteKey: app/lit}}}
`)})
	if res := f.pass(); !res.OK() || res.Pushed != 5 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.remoteValue("app/dsn", "postgres://templated-user@db")
	f.remoteValue("app/url", "https://templated-user@registry")
	f.remoteValue("app/host", "db.local")
	f.remoteValue("app/extra", "TEMPLATED-USER-extra")
	f.remoteValue("app/lit", "templated-user-lit")
}
