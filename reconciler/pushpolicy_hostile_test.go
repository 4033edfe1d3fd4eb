package reconciler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
	res := f.pass()
	want := "spec.data[1].metadata.spec.resourcePolicy.policySourceRef: another policy than spec.data[0]'s for the same remote secret"
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
	if got := f.counter.Path("get", "/api/v1/namespaces/"+f.ns+"/configmaps/pol"); got > n {
		t.Fatalf("no-op pass read the policy ConfigMap %d times, want at most one per PushSecret (%d)", got, n)
	}
}
