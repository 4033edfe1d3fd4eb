package reconciler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/reconciler"
)

// labelled writes Secret name in ns with labels and data, and remembers
// its values for the leak check.
func (f *fixture) labelled(ns, name string, labels, data map[string]string) {
	f.t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
		f.remember(v)
	}
	ctx := context.Background()
	if _, err := env.Client.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// pushSpec is a PushSecret of the fixture's namespace to store aws with
// the given spec lines (selector, data, dataTo, template).
func (f *fixture) pushSpec(name, spec string) string {
	return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  secretStoreRefs: [{name: aws}]\n%s", name, f.ns, spec)
}

// A label selector reads the Secrets of the PushSecret's own namespace
// only: a Secret of another namespace with the same labels is never pushed
// (a repo writer of one namespace cannot publish another's Secret). Each
// matched Secret's keys are pushed, one remote secret per key through
// dataTo, and a Secret that gains the label is pushed by the next poll.
func TestPushSecretPushesLabelSelectedSecretsOfItsOwnNamespaceOnly(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	push := map[string]string{"push": "yes"}
	f.labelled(other, "theirs", push, map[string]string{"db_stolen": "other-namespace-db-secret"})
	f.labelled(f.ns, "a", push, map[string]string{"db_user": "label-selected-user"})
	f.labelled(f.ns, "b", push, map[string]string{"db_pass": "label-selected-pass"})
	f.labelled(f.ns, "c", nil, map[string]string{"db_late": "late-labelled-value"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", `  selector: {secret: {selector: {matchLabels: {push: "yes"}}}}
  dataTo: [{storeRef: {name: aws}, match: {regexp: "^db_"}, rewrite: [{regexp: {source: "^db_", target: "app/"}}]}]
`)})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.remoteValue("app/user", "label-selected-user")
	f.remoteValue("app/pass", "label-selected-pass")
	for _, n := range []string{"app/stolen", "app/late"} {
		if _, _, _, ok := f.remote(n); ok {
			t.Fatalf("%s pushed", n)
		}
	}
	var secrets []string
	for _, r := range f.inventory().Pushed {
		secrets = append(secrets, r.Secret+" "+r.RemoteKey)
	}
	slices.Sort(secrets)
	if want := []string{f.ns + "/a app/user", f.ns + "/b app/pass"}; !slices.Equal(secrets, want) {
		t.Fatalf("rows %q, want %q", secrets, want)
	}

	f.labelled(f.ns, "c", push, map[string]string{"db_late": "late-labelled-value"})
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("poll after a Secret gained the label: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.remoteValue("app/late", "late-labelled-value")
}

// A label selector that matches no Secret is an error, not "push
// nothing": under deletionPolicy Delete that would delete every remote
// secret the PushSecret wrote. Its rows are kept and nothing is deleted.
func TestPushSecretWhoseSelectorMatchesNothingKeepsWhatItPushed(t *testing.T) {
	f := newFixture(t)
	f.labelled(f.ns, "a", map[string]string{"push": "yes"}, map[string]string{"k": "kept-pushed-value"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", `  deletionPolicy: Delete
  selector: {secret: {selector: {matchLabels: {push: "yes"}}}}
  dataTo: [{storeRef: {name: aws}}]
`)})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.labelled(f.ns, "a", nil, map[string]string{"k": "kept-pushed-value"})
	f.sm.SM.ResetCalls()
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "matches no Secret") {
		t.Fatalf("errors %v, want the empty selection named", res.Errors)
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 || res.PushDeleted != 0 {
		t.Fatalf("calls %v, deleted %d", c, res.PushDeleted)
	}
	f.remoteValue("k", "kept-pushed-value")
	if rows := pushRows(f.inventory()); len(rows) != 1 || !strings.Contains(rows[0], " k# false ApplyFailed") {
		t.Fatalf("rows %q, want k kept, not ready", rows)
	}
}

// dataTo with remoteKey pushes the matched keys as one JSON object; data
// wins over dataTo for its key; ReverseUnicode turns _U002f_ back into /
// before the match; the template shapes the source before both.
func TestPushSecretDataToBundleDataOverrideAndTemplate(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"db_user": "bundle-user-1", "db_pass": "bundle-pass-1", "path_U002f_x": "unicode-key-value"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", `  selector: {secret: {name: src}}
  dataTo:
  - {storeRef: {name: aws}, remoteKey: app/bundle, match: {regexp: "^db_"}}
  - {storeRef: {name: aws}, conversionStrategy: ReverseUnicode, match: {regexp: "^path/"}}
  data:
  - match: {secretKey: db_pass, remoteRef: {remoteKey: app/pass}}
`), "tpl.yaml": f.pushSpec("t", `  selector: {secret: {name: src}}
  template: {data: {dsn: "postgres://{{ .db_user }}:{{ .db_pass }}@db"}}
  data:
  - match: {secretKey: dsn, remoteRef: {remoteKey: app/dsn}}
`)})
	if res := f.pass(); !res.OK() || res.Pushed != 4 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.remoteValue("app/bundle", `{"db_user":"bundle-user-1"}`)
	f.remoteValue("app/pass", "bundle-pass-1")
	f.remoteValue("path/x", "unicode-key-value")
	f.remoteValue("app/dsn", "postgres://bundle-user-1:bundle-pass-1@db")
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.Pushed != 0 || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("no-op pass: ok %v, pushed %d, calls %v", res.OK(), res.Pushed, f.sm.SM.Calls())
	}
}

// A template is bounded by the work budget: one that would mint a huge
// value from a small source stops with the budget's error, names no value,
// and pushes nothing.
func TestPushSecretTemplateIsBounded(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "q7Zx3vKp9wLm2bombseed"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", `  selector: {secret: {name: src}}
  template: {data: {big: "{{ range $i := until 100000000 }}{{ $.k }}{{ end }}"}}
  data:
  - match: {secretKey: big, remoteRef: {remoteKey: app/big}}
`)})
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "budget") {
		t.Fatalf("errors %v, want the template stopped by the budget", res.Errors)
	}
	if _, _, _, ok := f.remote("app/big"); ok || writes(f.sm.SM.Calls()) != 0 {
		t.Fatal("a value over the budget was pushed")
	}
}

// A generator's value is pushed once and kept, in AWS only: passes and a
// restart (a new Reconciler, nothing in memory) make no new password and
// no AWS call; a change of the generator's spec or its refreshInterval
// passing makes one, pushed.
func TestPushSecretGeneratedValueIsStableAcrossPassesAndRestarts(t *testing.T) {
	f := newFixture(t)
	clock := time.Now()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	gen := func(length int) string {
		return fmt.Sprintf("apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: %s}\nspec: {length: %d, symbols: 0}\n", f.ns, length)
	}
	push := f.pushSpec("p", `  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}
  data: [{match: {secretKey: password, remoteRef: {remoteKey: app/generated}}}]
`)
	generated := func(wantLen int) string {
		t.Helper()
		v, _, _, ok := f.remote("app/generated")
		if !ok || len(v) != wantLen {
			t.Fatalf("remote app/generated: exists %v, length %d, want %d", ok, len(v), wantLen)
		}
		f.remember(v)
		return v
	}
	f.commit(map[string]string{"store.yaml": f.store(), "gen.yaml": gen(24), "push.yaml": push})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	first := generated(24)
	if rows := f.inventory().Pushed; len(rows) != 1 || !strings.HasPrefix(rows[0].Generator, "Password/pw@") {
		t.Fatalf("rows %+v, want the generator recorded", rows)
	}
	for _, restart := range []bool{false, true} {
		if restart {
			f.rec = f.newReconciler()
			reconciler.SetNow(f.rec, func() time.Time { return clock })
		}
		f.sm.SM.ResetCalls()
		if res := f.pass(); !res.OK() || res.Pushed != 0 || f.sm.SM.TotalCalls() != 0 {
			t.Fatalf("pass (restart %v): ok %v, pushed %d, calls %v", restart, res.OK(), res.Pushed, f.sm.SM.Calls())
		}
		if generated(24) != first {
			t.Fatalf("restart %v: the generated value changed", restart)
		}
	}

	f.commit(map[string]string{"gen.yaml": gen(32)})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("pass after the generator changed: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	second := generated(32)
	clock = clock.Add(2 * time.Hour) // refreshInterval's default is 1h
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("pass after refreshInterval: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	if generated(32) == second {
		t.Fatal("refreshInterval passed and the generated value stayed")
	}
}

// dataTo names remote secrets after the source's keys, which Git does not
// show: run checks the expanded names against other namespaces' pushes. A
// namespace whose Secret gains a key named like another team's remote
// secret in a shared store cannot overwrite it through dataTo.
func TestPushSecretDataToNeverWritesAnotherNamespacesRemoteSecret(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	pushIn := func(ns, spec string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: %s}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n%s", ns, spec)
	}
	f.source(other, "src", map[string]string{"k": "team-b-dataTo-owner"})
	f.source(f.ns, "src", map[string]string{"mine": "team-a-own-value"})
	f.commit(map[string]string{"css.yaml": css,
		"b.yaml": pushIn(other, "  data: [{match: {secretKey: k, remoteRef: {remoteKey: team-b/db}}}]\n"),
		"a.yaml": pushIn(f.ns, "  dataTo: [{storeRef: {name: shared, kind: ClusterSecretStore}, rewrite: [{regexp: {source: '^', target: 'team-a/'}}]}]\n")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	// Team a's Secret gains a key its rewrite turns into team b's name.
	f.commit(map[string]string{"a.yaml": pushIn(f.ns, "  dataTo: [{storeRef: {name: shared, kind: ClusterSecretStore}, rewrite: [{regexp: {source: '^takeover$', target: 'team-b/db'}}]}]\n")})
	f.source(f.ns, "src", map[string]string{"takeover": "team-a-takeover-value"})
	f.sm.SM.ResetCalls()
	res := f.pass()
	if len(res.Errors) != 2 {
		t.Fatalf("errors %v, want both PushSecrets refused", res.Errors)
	}
	for _, err := range res.Errors {
		if !strings.Contains(err.Error(), "team-b/db") || !strings.Contains(err.Error(), "also pushed") {
			t.Fatalf("error %v, want the shared remote secret named", err)
		}
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("calls %v", c)
	}
	f.remoteValue("team-b/db", "team-b-dataTo-owner")
}
