package reconciler_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// A PushSecret (deletionPolicy Delete) and the store it pushes to leave Git
// in one commit: nothing can delete through a store that is not rendered.
// Its rows stay (the remote secret is left, nothing lost), each says why
// (StoreMissing, naming the store) with one Warning Event, the pass is not
// failed, and so the next poll of the same revision is skipped, not a full
// pass; a restart repeats no Event. When the store is back in Git, the
// first pass deletes what the PushSecret wrote and forgets the rows.
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
