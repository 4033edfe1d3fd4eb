package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A remote key written as an ARN names a Secrets Manager secret as it is
// (no store prefix) and under a string no other PushSecret's name matches:
// team a, pushing to the ARN of team b's pushed secret through the shared
// ClusterSecretStore, would escape the shared-remote check and replace team
// b's value. A push remote key is a name, never an ARN: a's PushSecret is
// refused and b's value stays.
func TestPushSecretRemoteKeyAsAnARNNeverReachesAnotherNamespacesSecret(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	pushIn := func(ns, value, remoteKey string) string {
		f.source(ns, "src", map[string]string{"k": value})
		return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: %s}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: %q}}}]\n", ns, remoteKey)
	}
	f.commit(map[string]string{"css.yaml": css, "b.yaml": pushIn(other, "team-b-db-password", "team-b/db")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("team b's push: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": pushIn(f.ns, "team-a-takeover", "arn:aws:secretsmanager:us-east-1:123456789012:secret:team-b/db")})
	f.sm.SM.ResetCalls()
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "ARN") {
		t.Fatalf("errors %v, want team a's PushSecret refused for its ARN", res.Errors)
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("calls %v", c)
	}
	f.remoteValue("team-b/db", "team-b-db-password")
}

// A template's literal can make a key out of a value, and dataTo names a
// remote secret after each key: the value would become an AWS secret's
// name (listed to anyone with ListSecrets), an Event's text and an
// inventory row. The pass refuses a remote key that holds a source value,
// names no value, and writes nothing.
func TestPushSecretNeverNamesARemoteSecretAfterAValue(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "q7Zx3vKp9wLmKeyLeak"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", `  selector: {secret: {name: src}}
  template: {templateFrom: [{literal: "app/{{ .k }}: x"}]}
  dataTo:
  - {storeRef: {name: aws}}
`)})
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "holds a value of the Secret") {
		t.Fatalf("errors %v, want the PushSecret refused for a key made of a value", res.Errors)
	}
	if writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("calls %v", f.sm.SM.Calls())
	}
}
