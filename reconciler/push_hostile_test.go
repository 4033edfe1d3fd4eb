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

// A push row records its remote key without the store's prefix, and a
// deletion names the key through the store as it is now. A repo writer who
// pushed "x" under prefix team-a/ (deletionPolicy Delete) then, in one
// commit, moves the store's prefix to team-b/ and the PushSecret's remote
// key elsewhere, has the row for "x" deleted as team-b/x: another team's
// pushed secret (it carries the managed-by tag), which secretsync never
// wrote. Only the remote secret a row's push wrote may be deleted for it.
func TestPushSecretDeletesOnlyTheRemoteSecretItWroteWhenTheStoreMoves(t *testing.T) {
	t.Skip("DEFECT: inventory.PushRow keeps the remote key without the store's prefix; pushsecret/prune.go deleteRemote canonicalises it through the store as it is now, so a prefix change deletes another team's tagged secret")
	f := newFixture(t)
	store := func(prefix string) string {
		return strings.Replace(f.store(), "region: us-east-1}", "region: us-east-1, prefix: "+prefix+"}", 1)
	}
	f.source(f.ns, "src", map[string]string{"k": leaktest.Canary()})
	f.commit(map[string]string{"store.yaml": store("team-a/"), "push.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "k=x")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	teamB := leaktest.Canary()
	f.sm.CreateTagged(t, "team-b/x", teamB, map[string]string{"managed-by": "external-secrets"})
	f.remember(teamB)
	f.commit(map[string]string{"store.yaml": store("team-b/"), "push.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "k=z")})
	if res := f.pass(); !res.OK() {
		t.Fatalf("second pass: %v", res.Errors)
	}
	f.remoteValue("team-b/x", teamB)
}
