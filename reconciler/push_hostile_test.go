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
// deletion named the key through the store as it is now. A repo writer who
// pushed "x" under prefix team-a/ (deletionPolicy Delete) then, in one
// commit, moves the store's prefix to team-b/ and the PushSecret's remote
// key elsewhere, had the row for "x" deleted as team-b/x: another team's
// pushed secret (it carries the managed-by tag), which secretsync never
// wrote, while team-a/x was orphaned. Each row records the name its push
// wrote (RemoteName), and only that one is deleted: team-a/x goes, team-b/x
// stays. A prefix move that keeps the remote key writes team-b/same and
// deletes team-a/same, which the PushSecret no longer pushes.
func TestPushSecretDeletesOnlyTheRemoteSecretItWroteWhenTheStoreMoves(t *testing.T) {
	f := newFixture(t)
	store := func(prefix string) string {
		return strings.Replace(f.store(), "region: us-east-1}", "region: us-east-1, prefix: "+prefix+"}", 1)
	}
	value := leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"k": value})
	f.commit(map[string]string{"store.yaml": store("team-a/"), "push.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "k=x", "k=same")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	for _, row := range f.inventory().Pushed {
		if row.RemoteName != "team-a/"+row.RemoteKey {
			t.Fatalf("row of %s records remote name %q, want the prefixed name its push wrote", row.RemoteKey, row.RemoteName)
		}
	}
	teamB := leaktest.Canary()
	f.sm.CreateTagged(t, "team-b/x", teamB, map[string]string{"managed-by": "external-secrets"})
	f.remember(teamB)
	f.commit(map[string]string{"store.yaml": store("team-b/"), "push.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "k=z", "k=same")})
	res := f.pass()
	if !res.OK() || res.PushDeleted != 2 {
		t.Fatalf("second pass: %v, deleted %d, want team-a/x and team-a/same", res.Errors, res.PushDeleted)
	}
	f.remoteValue("team-b/x", teamB)
	f.remoteValue("team-b/z", value)
	f.remoteValue("team-b/same", value)
	for _, old := range []string{"team-a/x", "team-a/same"} {
		if _, deleted, _, ok := f.remote(old); !ok || !deleted {
			t.Errorf("%s: exists %v, scheduled for deletion %v; want it deleted, not orphaned", old, ok, deleted)
		}
	}
}
