package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/parallel"
)

// scalePushSecrets is the count issue #26 makes its no-op promise for (0
// AWS write calls on a no-op pass at 1,000 PushSecrets), as make bench
// measures it (docs/performance.md, PushSecrets).
const scalePushSecrets = 1000

// seedPushSecrets creates n source Secrets in the fixture's namespace, each
// with one canary under key "value", and commits the store and n
// PushSecrets, one a Secret, each to its own remote secret scale/push-NNNN.
// A sample of the canaries is remembered for the leak check: all n would
// make it scan the logs n times over.
func (f *fixture) seedPushSecrets(n int) {
	f.t.Helper()
	values := make([]string, n)
	errs := make([]error, n)
	jobs := make([]func(), n)
	for j := range n {
		values[j] = leaktest.Canary()
		jobs[j] = func() {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("src-%04d", j), Namespace: f.ns},
				Data: map[string][]byte{"value": []byte(values[j])}}
			_, errs[j] = env.Client.CoreV1().Secrets(f.ns).Create(context.Background(), s, metav1.CreateOptions{})
		}
	}
	parallel.Run(16, jobs)
	for _, err := range errs {
		if err != nil {
			f.t.Fatal(err)
		}
	}
	for j := 0; j < n; j += max(n/20, 1) {
		f.remember(values[j])
	}
	var b strings.Builder
	for j := range n {
		fmt.Fprintf(&b, "---\n%s", f.push(fmt.Sprintf("push-%04d", j), fmt.Sprintf("src-%04d", j), "", fmt.Sprintf("value=scale/push-%04d", j)))
	}
	f.commit(map[string]string{"store.yaml": f.store(), "pushsecrets.yaml": b.String()})
}

// At 1,000 PushSecrets, once pushed: a pass of a new revision with
// nothing of theirs changed makes no AWS write (nor any AWS call: the
// digest of each one's spec and sources, kept in memory, stands for the
// remote value), and the first pass of a new process makes none either
// (the inventory's push rows, with their synced digest and check time,
// vouch for every remote secret: docs/performance.md, Restart).
func TestPushSecretNoOpPassAtOneThousandPushSecretsWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.seedPushSecrets(scalePushSecrets)
	res := f.pass()
	if !res.OK() || res.Pushed != scalePushSecrets {
		t.Fatalf("first pass: ok %v, pushed %d of %d, errors %d (first %v)", res.OK(), res.Pushed, scalePushSecrets, len(res.Errors), firstErr(res.Errors))
	}
	if c := f.sm.SM.Calls(); c["CreateSecret"] != scalePushSecrets {
		t.Fatalf("first pass calls %v, want %d CreateSecret", c, scalePushSecrets)
	}
	f.remoteValue("scale/push-0000", string(f.secretData("src-0000")["value"]))
	f.remoteValue(fmt.Sprintf("scale/push-%04d", scalePushSecrets-1), string(f.secretData(fmt.Sprintf("src-%04d", scalePushSecrets-1))["value"]))
	if rows := len(f.inventory().Pushed); rows != scalePushSecrets {
		t.Fatalf("%d push rows, want %d", rows, scalePushSecrets)
	}

	f.commit(map[string]string{"README.md": "an unrelated change"})
	f.sm.SM.ResetCalls()
	res = f.pass()
	if !res.OK() || res.Pushed != 0 || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("no-op pass: ok %v, pushed %d, calls %v, errors %v", res.OK(), res.Pushed, f.sm.SM.Calls(), firstErr(res.Errors))
	}
	if n := f.sm.SM.TotalCalls(); n != 0 {
		t.Fatalf("no-op pass made %d AWS calls (%v), want none", n, f.sm.SM.Calls())
	}

	f.rec = f.newReconciler()
	f.sm.SM.ResetCalls()
	res = f.pass()
	if !res.OK() || res.Pushed != 0 || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("pass after a restart: ok %v, pushed %d, calls %v, errors %v", res.OK(), res.Pushed, f.sm.SM.Calls(), firstErr(res.Errors))
	}
	if n := f.sm.SM.TotalCalls(); n != 0 {
		t.Fatalf("the first pass of a new process made %d AWS calls (%v), want none: the push rows vouch for every remote secret", n, f.sm.SM.Calls())
	}
}

// secretData is a Secret's data in the fixture's namespace.
func (f *fixture) secretData(name string) map[string][]byte {
	f.t.Helper()
	s := f.secret(name)
	if s == nil {
		f.t.Fatalf("Secret %s not found", name)
	}
	return s.Data
}

func firstErr(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}
