package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// policyEntry is a data entry pushing secretKey key to property prop of
// remote secret remote, with the policy at key policy.json of ConfigMap cm.
func policyEntry(key, remote, prop, cm string) string {
	return `    - match: {secretKey: ` + key + `, remoteRef: {remoteKey: ` + remote + `, property: ` + prop + `}}
      metadata:
        apiVersion: kubernetes.external-secrets.io/v1alpha1
        kind: PushSecretMetadata
        spec:
          resourcePolicy: {policySourceRef: {kind: ConfigMap, name: ` + cm + `, key: policy.json}}
`
}

// Hostile review (15.R): two entries of one PushSecret push properties of
// one remote secret, each naming another policy. Were both pushed, the
// second would overwrite the first's on every push and the first put it
// back at the next refresh, for ever (two PutResourcePolicy an hour, and
// which policy AWS holds depends on the entries' order). The PushSecret is
// refused, naming both fields and no policy text, and writes nothing.
func TestTwoEntriesWithTwoPoliciesForOneSecretAreRefused(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"a": "policy-flap-a", "b": "policy-flap-b"})
	one := f.policyDoc("111111111111")
	policyMap(t, f.ns, "pol1", map[string]string{"policy.json": one})
	policyMap(t, f.ns, "pol2", map[string]string{"policy.json": f.policyDoc("222222222222")})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", "  selector: {secret: {name: src}}\n  data:\n"+
		policyEntry("a", "app/shared", "a", "pol1")+policyEntry("b", "app/shared", "b", "pol2"))})
	want := "spec.data[1].metadata.spec.resourcePolicy.policySourceRef: another policy than spec.data[0]'s for the same remote secret"
	// diff says so first, as the pass does, and writes nothing.
	if got := fmt.Sprint(f.diffPushes()); !strings.Contains(got, "refused app/shared (p)") || !strings.Contains(got, "another policy than spec.data[0]'s") {
		t.Fatalf("diff %s, want app/shared refused for its two policies", got)
	}
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), want) {
		t.Fatalf("errors %v, want one saying %q", res.Errors, want)
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("a refused PushSecret wrote: %v", c)
	}
	// The same text in both (another source, or one source): no flap, pushed.
	policyMap(t, f.ns, "pol2", map[string]string{"policy.json": one})
	if res := f.pass(); !res.OK() || res.Pushed != 2 || !sameDoc(f.remotePolicy("app/shared"), one) {
		t.Fatalf("one policy: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	clock := time.Now().Add(2 * time.Hour)
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("refresh: ok %v, %s", res.OK(), policyCalls(f.sm.SM.Calls()))
	}
}

// Hostile review (15.R): 50 PushSecrets name one ConfigMap's policy. Once
// pushed, a no-op pass makes no AWS call at all (no GetResourcePolicy
// either); each PushSecret planned reads the ConfigMap once (50 GETs a
// pass: bounded by the PushSecrets, not by their entries, and by nothing
// shared between them).
func TestFiftyPushSecretsOnOnePolicyMakeNoAWSCallOnANoOpPass(t *testing.T) {
	f := newFixture(t)
	const n = 50
	policyMap(t, f.ns, "pol", map[string]string{"policy.json": f.policyDoc("111111111111")})
	f.source(f.ns, "src", map[string]string{"a": "policy-fifty-a", "b": "policy-fifty-b"})
	var b strings.Builder
	for j := range n {
		fmt.Fprintf(&b, "---\n%s", f.pushSpec(fmt.Sprintf("p%02d", j), "  selector: {secret: {name: src}}\n  data:\n"+
			policyEntry("a", fmt.Sprintf("app/fifty-%02d", j), "a", "pol")+policyEntry("b", fmt.Sprintf("app/fifty-%02d", j), "b", "pol")))
	}
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": b.String()})
	if res := f.pass(); !res.OK() || res.Pushed != 2*n {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	if c := f.sm.SM.Calls(); c["PutResourcePolicy"] != n {
		t.Fatalf("first pass: %s, want %d puts", policyCalls(c), n)
	}
	f.sm.SM.ResetCalls()
	f.counter.Reset()
	if res := f.pass(); !res.OK() || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("no-op pass: ok %v, calls %v", res.OK(), f.sm.SM.Calls())
	}
	got := f.counter.Path("get", "/api/v1/namespaces/"+f.ns+"/configmaps/pol")
	t.Logf("a no-op pass of %d PushSecrets read the policy ConfigMap %d times", n, got)
	if got > n {
		t.Fatalf("no-op pass read the policy ConfigMap %d times, want at most one per PushSecret (%d)", got, n)
	}
}

// Hostile review (15.R): two PushSecrets push properties of one remote
// secret, each naming another policy. Both pushed, each put its own over
// the other's at its refresh: two PutResourcePolicy an hour for ever, AWS
// holding whichever ran last. The later one (by name) is refused, in diff
// and the pass, naming the other and no text; the first is pushed and a
// refresh writes nothing. The same text in both pushes both.
func TestTwoPushSecretsWithTwoPoliciesForOneSecretDoNotFlap(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"a": "policy-flap2-a", "b": "policy-flap2-b"})
	one := f.policyDoc("111111111111")
	policyMap(t, f.ns, "pol1", map[string]string{"policy.json": one})
	policyMap(t, f.ns, "pol2", map[string]string{"policy.json": f.policyDoc("222222222222")})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p1", "  selector: {secret: {name: src}}\n  data:\n"+
		policyEntry("a", "app/shared2", "a", "pol1")) + "---\n" + f.pushSpec("p2", "  selector: {secret: {name: src}}\n  data:\n"+
		policyEntry("b", "app/shared2", "b", "pol2"))})
	want := "spec.data[0].metadata.spec.resourcePolicy.policySourceRef: another policy than spec.data[0]'s of PushSecret " + f.ns + "/p1 for the same remote secret app/shared2"
	if got := fmt.Sprint(f.diffPushes()); !strings.Contains(got, "refused app/shared2 (p2)") || !strings.Contains(got, want) {
		t.Fatalf("diff %s, want p2 refused: %q", got, want)
	}
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "PushSecret "+f.ns+"/p2") || !strings.Contains(res.Errors[0].Error(), want) {
		t.Fatalf("errors %v, want p2 refused: %q", res.Errors, want)
	}
	if !sameDoc(f.remotePolicy("app/shared2"), one) {
		t.Fatal("the policy in AWS is not the first PushSecret's")
	}
	for i := 1; i <= 2; i++ {
		clock := time.Now().Add(time.Duration(2*i) * time.Hour)
		reconciler.SetNow(f.rec, func() time.Time { return clock })
		f.sm.SM.ResetCalls()
		f.pass()
		if c := f.sm.SM.Calls(); c["PutResourcePolicy"] != 0 {
			t.Fatalf("refresh %d: the policy flaps: %s", i, policyCalls(c))
		}
	}
	policyMap(t, f.ns, "pol2", map[string]string{"policy.json": one})
	if res := f.pass(); !res.OK() {
		t.Fatalf("one policy in both: errors %v", res.Errors)
	}
}

// secretPolicyEntry is policyEntry with the policy in Secret name, key k.
func secretPolicyEntry(remote, name, k string) string {
	return `    - match: {secretKey: a, remoteRef: {remoteKey: ` + remote + `}}
      metadata:
        apiVersion: kubernetes.external-secrets.io/v1alpha1
        kind: PushSecretMetadata
        spec:
          resourcePolicy: {policySourceRef: {kind: Secret, name: ` + name + `, key: ` + k + `}}
`
}

// Hostile review (15.R): a repo writer names, as the policy, a
// service-account token Secret of its namespace (whose data it cannot read
// but whose text would be sent to AWS), a Secret whose text is no JSON
// document, and a Secret holding a public policy. Each is refused: the
// token before any AWS call, the bad text before any AWS call, the public
// one by AWS (BlockPublicPolicy). No text reaches an error, Event, log or
// the inventory (the fixture's leak check, every text remembered).
func TestHostilePolicySecretsAreRefusedAndNeverPrinted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.source(f.ns, "src", map[string]string{"a": "policy-hostile-a"})
	marker := leaktest.Canary()
	f.remember(marker)
	tok := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tok", Namespace: f.ns, Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type: corev1.SecretTypeServiceAccountToken, Data: map[string][]byte{"token": []byte(`{"Sid":"` + marker + `"}`)}}
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, tok, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Sid":"x` + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return 'x'
	}, marker) + `","Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	f.remember(public)
	f.source(f.ns, "pols", map[string]string{"bad": `{"Sid":"` + marker + `"}}`, "public": public})
	for _, c := range []struct{ name, entry, want string }{
		{"a token Secret", secretPolicyEntry("app/tok", "tok", "token"), "Secret " + f.ns + "/tok: is refused: its type kubernetes.io/service-account-token"},
		{"no JSON document", secretPolicyEntry("app/bad", "pols", "bad"), "the policy at key bad of Secret " + f.ns + "/pols is not a JSON object"},
		{"a public policy", secretPolicyEntry("app/public", "pols", "public"), "PublicPolicyException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.pushSpec("p", "  selector: {secret: {name: src}}\n  data:\n"+c.entry)})
			f.sm.SM.ResetCalls()
			res := f.pass()
			if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), c.want) {
				t.Fatalf("errors %v, want one saying %q", res.Errors, c.want)
			}
			calls := f.sm.SM.Calls()
			if c.want != "PublicPolicyException" && f.sm.SM.TotalCalls() != 0 {
				t.Fatalf("refused before any call, but calls %v", calls)
			}
			if calls["PutResourcePolicy"] > 1 || c.want == "PublicPolicyException" && f.remotePolicy("app/public") != "" {
				t.Fatalf("a public policy: calls %v, or it was put", calls)
			}
		})
	}
}
