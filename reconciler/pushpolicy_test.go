package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// policyDoc is a resource policy granting account reads, its Sid a
// canary the fixture remembers: no policy text may reach an error, an
// Event, a log line or the inventory.
func (f *fixture) policyDoc(account string) string {
	sid := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return 'x'
	}, leaktest.Canary())
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"` + sid + `","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account +
		`:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	f.remember(sid)
	f.remember(doc)
	return doc
}

// policyMap writes ConfigMap name of namespace ns with the policy at key
// policy.json (nil data deletes it).
func policyMap(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	ctx := context.Background()
	cms := env.Client.CoreV1().ConfigMaps(ns)
	if data == nil {
		if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// policyPush is a PushSecret of src's key k to app/pol whose metadata
// names the policy at ConfigMap pol, key policy.json, with extra keys in
// its policySourceRef.
func (f *fixture) policyPush(extra string) string {
	return f.pushSpec("p", `  selector: {secret: {name: src}}
  data:
    - match: {secretKey: k, remoteRef: {remoteKey: app/pol}}
      metadata:
        apiVersion: kubernetes.external-secrets.io/v1alpha1
        kind: PushSecretMetadata
        spec:
          resourcePolicy:
            blockPublicPolicy: true
            policySourceRef: {kind: ConfigMap, name: pol, key: policy.json`+extra+`}
`)
}

func (f *fixture) remotePolicy(name string) string {
	f.t.Helper()
	out, err := f.sm.Client().GetResourcePolicy(context.Background(), &secretsmanager.GetResourcePolicyInput{SecretId: awssdk.String(name)})
	if err != nil {
		f.t.Fatal(err)
	}
	return awssdk.ToString(out.ResourcePolicy)
}

func sameDoc(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func policyCalls(c map[string]int) string {
	return fmt.Sprintf("get %d, put %d, delete %d", c["GetResourcePolicy"], c["PutResourcePolicy"], c["DeleteResourcePolicy"])
}

// A PushSecret's resourcePolicy, read from a ConfigMap of its own
// namespace, is put on the secret it creates; a no-op pass makes no call,
// nor a restart; a refresh reads and compares and writes nothing; a changed ConfigMap is
// put (a retag: the value unchanged), which diff says first; a ConfigMap
// gone refuses the push, naming the PushSecret, the field and the object,
// and the policy in AWS stays as it was.
func TestPushSecretPutsTheResourcePolicyOfItsOwnNamespace(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "policy-pushed-value"})
	one := f.policyDoc("111111111111")
	policyMap(t, f.ns, "pol", map[string]string{"policy.json": one})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.policyPush("")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	if !sameDoc(f.remotePolicy("app/pol"), one) {
		t.Fatal("the policy in AWS is not the ConfigMap's")
	}
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("no-op pass: ok %v, calls %v", res.OK(), f.sm.SM.Calls())
	}
	f.rec = f.newReconciler()
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("pass after a restart: ok %v, calls %v", res.OK(), f.sm.SM.Calls())
	}
	// Once refreshInterval (an hour) passed, the push compares: it reads
	// the policy (AWS holds it in another form) and writes nothing.
	clock := time.Now().Add(2 * time.Hour)
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || writes(f.sm.SM.Calls()) != 0 || f.sm.SM.Calls()["GetResourcePolicy"] != 1 {
		t.Fatalf("pass at refresh: ok %v, calls %v", res.OK(), f.sm.SM.Calls())
	}

	two := f.policyDoc("222222222222")
	policyMap(t, f.ns, "pol", map[string]string{"policy.json": two})
	if got := f.diffPushes(); len(got) != 1 || got["retag app/pol (p)"] != " : " {
		t.Fatalf("diff %v, want one retag of app/pol", got)
	}
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.Pushed != 0 {
		t.Fatalf("changed policy: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	if c := f.sm.SM.Calls(); c["PutResourcePolicy"] != 1 || c["PutSecretValue"] != 0 || !sameDoc(f.remotePolicy("app/pol"), two) {
		t.Fatalf("changed policy: %s, calls %v", policyCalls(c), c)
	}

	policyMap(t, f.ns, "pol", nil)
	f.sm.SM.ResetCalls()
	res := f.pass()
	want := "PushSecret " + f.ns + "/p (push.yaml): spec.data[0].metadata.spec.resourcePolicy.policySourceRef: ConfigMap " + f.ns + "/pol not found"
	if len(res.Errors) != 1 || res.Errors[0].Error() != want {
		t.Fatalf("errors %v, want %q", res.Errors, want)
	}
	if f.sm.SM.TotalCalls() != 0 || !sameDoc(f.remotePolicy("app/pol"), two) {
		t.Fatalf("a missing policy source: calls %v, the policy in AWS changed", f.sm.SM.Calls())
	}
	if evs := strings.Join(f.events(), "\n"); !strings.Contains(evs, "ConfigMap "+f.ns+"/pol not found") {
		t.Fatalf("events %s", evs)
	}
}

// A PushSecret never reads a policy of another namespace: ESO's
// policySourceRef names none, a namespace key is refused by name (validate
// and run) and nothing is read; naming only a name reads the PushSecret's
// own namespace, where it is missing, and the ConfigMap of that name in
// another namespace is never read (the request counter shows no GET of
// it). Nothing is pushed, and the other namespace's policy reaches no
// output.
func TestPushSecretNeverReadsAPolicyOfAnotherNamespace(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	policyMap(t, other, "pol", map[string]string{"policy.json": f.policyDoc("333333333333")})
	f.source(f.ns, "src", map[string]string{"k": "policy-hostile-value"})
	otherPath, ownPath := "/api/v1/namespaces/"+other+"/configmaps/pol", "/api/v1/namespaces/"+f.ns+"/configmaps/pol"
	for _, c := range []struct{ name, extra, want string }{
		{"a namespace key", ", namespace: " + other, "push spec.data[0] to SecretStore/" + f.ns + "/aws: Invalid secretsmanager:app/pol: metadata.spec.resourcePolicy.policySourceRef.namespace: is not a key"},
		{"a name only", "", "ConfigMap " + f.ns + "/pol not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.policyPush(c.extra)})
			f.counter.Reset()
			f.sm.SM.ResetCalls()
			res := f.pass()
			if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), c.want) || !strings.Contains(res.Errors[0].Error(), "PushSecret "+f.ns+"/p") {
				t.Fatalf("errors %v, want one naming the PushSecret and %q", res.Errors, c.want)
			}
			if n := f.counter.Path("get", otherPath); n != 0 {
				t.Fatalf("the other namespace's ConfigMap was read %d times", n)
			}
			if c.extra == "" && f.counter.Path("get", ownPath) != 1 {
				t.Fatalf("the own namespace's ConfigMap was read %d times, want 1", f.counter.Path("get", ownPath))
			}
			if calls := f.sm.SM.Calls(); calls["CreateSecret"]+calls["PutResourcePolicy"] != 0 {
				t.Fatalf("calls %v", calls)
			}
		})
	}
}
