package reconciler_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// A PushSecret (deletionPolicy Delete) and the store it pushes to leave Git
// in one commit: nothing can delete through a store that is not rendered.
// Its rows stay (the remote secret is left, nothing lost), each says why
// (StoreMissing, naming the store) with one Warning Event, the pass is not
// failed, and so the next poll of the same revision is skipped, not a full
// pass; a restart repeats no Event. When the store is back in Git, the
// first pass deletes what the PushSecret wrote and forgets the rows. diff
// says the same.
func TestPushSecretAndItsStoreLeavingGitTogetherWaitForTheStoreWithoutFailingEveryPass(t *testing.T) {
	f := newFixture(t)
	value := leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"k": value})
	keepStore := strings.Replace(f.store(), "name: aws", "name: keep", 1)
	other := strings.Replace(f.push("other", "src", "", "k=other/k"), "name: aws}", "name: keep}", 1)
	f.commit(map[string]string{"store.yaml": f.store(), "keep.yaml": keepStore, "other.yaml": other,
		"push.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "k=gone/k")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"store.yaml": "", "push.yaml": ""})
	if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("pass after p and its store left Git: %v, deleted %d; want no failure, nothing deleted", res.Errors, res.PushDeleted)
	}
	f.remoteValue("gone/k", value)
	store := "SecretStore/" + f.ns + "/aws"
	var waiting int
	for _, row := range f.inventory().Pushed {
		if row.RemoteKey == "gone/k" {
			waiting++
			if row.Ready || row.Reason != "StoreMissing" || !strings.Contains(row.Message, store) {
				t.Errorf("row %+v, want it kept, not ready, saying its store %s is missing", row, store)
			}
		}
	}
	if waiting != 1 {
		t.Fatalf("%d rows for gone/k, want it kept", waiting)
	}
	if got := f.diffPushes(); !strings.Contains(got["refused gone/k (p)"], "store is not in the rendered manifests") {
		t.Fatalf("diff %q, want gone/k's delete refused for its missing store", got)
	}
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		t.Fatalf("the next poll of the same revision ran a pass (stage %s, errors %v); want it skipped", res.Stage, res.Errors)
	}
	f.rec = f.newReconciler()
	if res := f.pass(); !res.OK() {
		t.Fatalf("pass after a restart: %v", res.Errors)
	}
	if n := countEvents(f.events(), "p/PushDeleteWaiting: ", store); n != 1 {
		t.Fatalf("%d PushDeleteWaiting Events naming %s, want one: %q", n, store, f.events())
	}

	f.commit(map[string]string{"store.yaml": f.store()})
	if res := f.pass(); !res.OK() || res.PushDeleted != 1 {
		t.Fatalf("pass with the store back: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	if _, deleted, _, _ := f.remote("gone/k"); !deleted {
		t.Fatal("gone/k not deleted once its store was back")
	}
	if rows := pushRows(f.inventory()); len(rows) != 1 || !strings.Contains(rows[0], "/other ") {
		t.Fatalf("rows %q, want other's only", rows)
	}
}

// countEvents counts the Events (as f.events lists them) that start with
// prefix and hold text.
func countEvents(evs []string, prefix, text string) int {
	n := 0
	for _, e := range evs {
		if strings.HasPrefix(e, prefix) && strings.Contains(e, text) {
			n++
		}
	}
	return n
}

// Under deletionPolicy Delete, a data entry that pushed a property and
// leaves Git takes its property out of the remote JSON secret (as ESO's
// Vault provider does; its AWS providers would delete the whole secret,
// the other properties with it): the other keys stay, whoever wrote them,
// and a secret left with no key is deleted. Only through the prune guards:
// under a render error nothing is taken out. diff shows the property's
// delete.
func TestPushSecretTakesOutAPropertyThatLeavesGit(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	push := func(items ...string) string { return f.push("p", "src", "  deletionPolicy: Delete\n", items...) }
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": push("u=app/json#user", "p=app/json#pass", "p=app/one#pass")})
	if res := f.pass(); !res.OK() || res.Pushed != 3 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.remoteJSON("app/json", map[string]string{"user": user, "pass": pass})

	// pass leaves Git, but the render has an error: nothing is taken out.
	f.commit(map[string]string{"push.yaml": push("u=app/json#user", "p=app/one#pass"),
		"broken.yaml": "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: x, namespace: " + f.ns + "}\nspec: {}\n"})
	if res := f.pass(); res.PushDeleted != 0 || !strings.Contains(res.PruneSkipped, "render reported") {
		t.Fatalf("under a render error: deleted %d, skipped %q", res.PushDeleted, res.PruneSkipped)
	}
	f.remoteJSON("app/json", map[string]string{"user": user, "pass": pass})

	f.commit(map[string]string{"broken.yaml": ""})
	if got := f.diffPushes(); len(got) != 1 || got["delete app/json (p)"] != " : " {
		t.Fatalf("diff %q, want the property's delete alone", got)
	}
	if res := f.pass(); !res.OK() || res.PushDeleted != 1 {
		t.Fatalf("pass after pass left Git: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	f.remoteJSON("app/json", map[string]string{"user": user})
	if n := countEvents(f.events(), "p/PushDeleted: ", "removed properties pass of app/json"); n != 1 {
		t.Fatalf("%d Events for the property taken out: %q", n, f.events())
	}

	// A key written by hand is not ours to take out: the secret stays
	// with it when the PushSecret leaves Git; app/one, left with no key,
	// is deleted.
	f.putRemote("app/json", `{"user":"`+user+`","byHand":"kept-by-hand"}`)
	f.commit(map[string]string{"push.yaml": ""})
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.AllowEmpty = true })
	if res := f.pass(); !res.OK() || res.PushDeleted != 2 {
		t.Fatalf("pass after p left Git: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	f.remoteJSON("app/json", map[string]string{"byHand": "kept-by-hand"})
	if _, deleted, _, ok := f.remote("app/one"); !ok || !deleted {
		t.Fatalf("app/one: exists %v, scheduled for deletion %v; want it deleted with its last property", ok, deleted)
	}
}

// remoteJSON checks that a remote secret holds a JSON object of exactly
// want, without printing its value.
func (f *fixture) remoteJSON(name string, want map[string]string) {
	f.t.Helper()
	v, deleted, _, ok := f.remote(name)
	var got map[string]string
	if !ok || deleted || json.Unmarshal([]byte(v), &got) != nil {
		f.t.Fatalf("remote %s: exists %v, deleted %v, a JSON object of strings %v", name, ok, deleted, got != nil)
	}
	if !maps.Equal(got, want) {
		f.t.Fatalf("remote %s holds keys %q, want %q", name, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// putRemote puts a new version of a remote secret, as a person would.
func (f *fixture) putRemote(name, value string) {
	f.t.Helper()
	if _, err := f.sm.Client().PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: awssdk.String(name), SecretString: awssdk.String(value)}); err != nil {
		f.t.Fatal(err)
	}
}
