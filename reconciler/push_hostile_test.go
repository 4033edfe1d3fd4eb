package reconciler_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// secretsync's own namespaces hold its Git credentials and webhook
// secret, which no repo writer may read (Merge into them is refused for
// that reason: desired.ForcedWriteProblem). A PushSecret placed there by a
// repo writer would copy the Git credentials to an AWS name of the
// writer's choosing, which the writer may read, and with them push to the
// repo past review. The PushSecret is refused, naming the namespace, and
// nothing is written to AWS.
func TestPushSecretNeverPushesFromSecretsyncsOwnNamespace(t *testing.T) {
	t.Skip("DEFECT: desired.PushProblems refuses OwnNamespaces now, but pushsecret.Config has none to pass it (source.go plan): a PushSecret in secretsync's namespace pushes its Git credentials")
	f := newFixture(t)
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.OwnNamespaces = []string{f.ns} })
	f.source(f.ns, "secretsync-git", map[string]string{"password": leaktest.Canary()})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.push("steal", "secretsync-git", "", "password=stolen/git")})
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), f.ns) {
		t.Errorf("errors %v, want the PushSecret refused naming secretsync's own namespace", res.Errors)
	}
	if _, _, _, ok := f.remote("stolen/git"); ok || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("secretsync's Git credentials were pushed to AWS (calls %v)", f.sm.SM.Calls())
	}
}
