package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

func mustOK(t *testing.T, res reconciler.Result) {
	t.Helper()
	if !res.OK() {
		t.Fatalf("pass failed: reason %s, errors %v", res.Reason, res.Errors)
	}
}

func TestCommitsReachTheCluster(t *testing.T) {
	f := newFixture(t)
	f.seed("app/db", `{"user":"admin","password":"pw-7f3a-seeded"}`)
	f.seed("app/api", `{"token":"tok-91bc-seeded","url":"https://api.example"}`)
	f.commit(map[string]string{
		"store.yaml": f.store(),
		"db.yaml":    f.es("db", "username=app/db#user", "password=app/db#password"),
		"api.yaml": strings.Replace(f.es("api"), "  data:\n", "  dataFrom:\n    - extract: {key: app/api}\n", 1) +
			"  target: {name: api-credentials}\n",
	})

	t.Run("a commit with two ExternalSecrets gives two Secrets with the right data", func(t *testing.T) {
		res := f.pass()
		mustOK(t, res)
		if res.Applied != 2 {
			t.Fatalf("applied %d, want 2", res.Applied)
		}
		sameData(t, "secret db", data(f.secret("db")), map[string]string{"username": "admin", "password": "pw-7f3a-seeded"})
		sameData(t, "secret api-credentials", data(f.secret("api-credentials")), map[string]string{"token": "tok-91bc-seeded", "url": "https://api.example"})
		s := f.secret("db")
		if s.Labels[reconciler.LabelManagedBy] != "secretsync" || s.Labels[reconciler.LabelInstance] != f.ns {
			t.Fatalf("labels = %v", s.Labels)
		}
		for _, a := range []string{reconciler.AnnotationRevision, reconciler.AnnotationDataHash} {
			if s.Annotations[a] == "" {
				t.Fatalf("annotation %s missing: %v", a, s.Annotations)
			}
		}
		if s.Annotations[reconciler.AnnotationSource] != "db.yaml" || s.Annotations[reconciler.AnnotationExternalSecret] != f.ns+"/db" {
			t.Fatalf("annotations = %v", s.Annotations)
		}
		if got := len(f.inventory().Entries); got != 2 {
			t.Fatalf("inventory has %d entries, want 2", got)
		}
	})

	t.Run("a pass with nothing changed writes nothing to the API server", func(t *testing.T) {
		f.counter.Reset()
		res := f.pass()
		mustOK(t, res)
		if res.Unchanged != 2 || res.Applied != 0 {
			t.Fatalf("applied %d, unchanged %d", res.Applied, res.Unchanged)
		}
		if w := f.writesBesideRefreshTime(); w != 0 {
			t.Fatalf("%d writes on a no-op pass", w)
		}
		if f.counter.Reads() == 0 {
			t.Fatal("no reads counted: the counter is not wired")
		}
	})

	t.Run("a commit that changes a mapping updates the Secret", func(t *testing.T) {
		f.commit(map[string]string{"db.yaml": f.es("db", "username=app/db#user", "pw=app/db#password")})
		res := f.pass()
		mustOK(t, res)
		if res.Applied != 1 || res.Unchanged != 1 {
			t.Fatalf("applied %d, unchanged %d", res.Applied, res.Unchanged)
		}
		sameData(t, "secret db", data(f.secret("db")), map[string]string{"username": "admin", "pw": "pw-7f3a-seeded"})
	})

	t.Run("a remote rotation is picked up on a full pass", func(t *testing.T) {
		f.rotate("app/db", `{"user":"admin2","password":"pw-rotated-seeded"}`)
		mustOK(t, f.pass())
		sameData(t, "secret db", data(f.secret("db")), map[string]string{"username": "admin2", "pw": "pw-rotated-seeded"})
	})

	t.Run("a commit that removes an ExternalSecret prunes its Secret", func(t *testing.T) {
		f.commit(map[string]string{"api.yaml": ""})
		res := f.pass()
		mustOK(t, res)
		if res.Pruned != 1 || f.secret("api-credentials") != nil {
			t.Fatalf("pruned %d; secret still there: %v", res.Pruned, f.secret("api-credentials") != nil)
		}
		if inv := f.inventory(); len(inv.Entries) != 1 || inv.Entries[0].Name != "db" {
			t.Fatalf("inventory = %+v", inv.Entries)
		}
	})
}

func TestABrokenManifestBlocksOnlyItselfAndStopsPruning(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.seed("k/b", "value-b-seeded")
	f.seed("k/c", "value-c-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/b")})
	mustOK(t, f.pass())

	// One commit: b is removed, a is broken, c is new.
	f.commit(map[string]string{
		"b.yaml": "",
		"a.yaml": f.es("a", "v=k/a") + "  refreshIntervall: 1h\n",
		"c.yaml": f.es("c", "v=k/c"),
	})
	res := f.pass()
	if res.Reason != reconciler.RenderFailed || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "a.yaml") || !strings.Contains(res.Errors[0].Error(), "refreshIntervall") {
		t.Fatalf("reason %s, errors %v; want one render error naming a.yaml and the field", res.Reason, res.Errors)
	}
	sameData(t, "new secret c", data(f.secret("c")), map[string]string{"v": "value-c-seeded"})
	if f.secret("b") == nil {
		t.Fatal("b was pruned in a pass whose render reported an error")
	}
	if f.secret("a") == nil {
		t.Fatal("the broken ExternalSecret's Secret was deleted")
	}
	if res.PruneSkipped == "" {
		t.Fatal("the result does not say why prune was skipped")
	}

	t.Run("once the manifest is fixed, the prune happens", func(t *testing.T) {
		f.commit(map[string]string{"a.yaml": f.es("a", "v=k/a")})
		res := f.pass()
		mustOK(t, res)
		if res.Pruned != 1 || f.secret("b") != nil {
			t.Fatalf("pruned %d", res.Pruned)
		}
	})
}

func TestRemoteFailuresKeepTheLastGoodSecret(t *testing.T) {
	f := newFixture(t)
	f.seed("k/gone", "gone-value-seeded")
	f.seed("k/denied", "denied-value-seeded")
	f.seed("k/fine", "fine-value-seeded")
	f.commit(map[string]string{"store.yaml": f.store(),
		"gone.yaml": f.es("gone", "v=k/gone"), "denied.yaml": f.es("denied", "v=k/denied"), "fine.yaml": f.es("fine", "v=k/fine")})
	mustOK(t, f.pass())

	f.sm.Delete(t, "k/gone")
	f.sm.SM.SetFault(func(op, id string) error {
		if id == "k/denied" {
			return smserver.ErrDenied
		}
		return nil
	})
	// A commit elsewhere in the same pass: prune still runs for what left Git.
	f.rotate("k/fine", "fine-rotated-seeded")
	res := f.pass()
	if res.Reason != reconciler.ResolveFailed || res.Failed != 2 {
		t.Fatalf("reason %s, failed %d, errors %v", res.Reason, res.Failed, res.Errors)
	}
	all := ""
	for _, e := range res.Errors {
		all += e.Error() + "\n"
	}
	for _, want := range []string{"secretsmanager:k/gone", "NotFound", "secretsmanager:k/denied", "AccessDenied", f.ns + "/gone", "gone.yaml"} {
		if !strings.Contains(all, want) {
			t.Fatalf("errors do not mention %q:\n%s", want, all)
		}
	}
	sameData(t, "secret gone", data(f.secret("gone")), map[string]string{"v": "gone-value-seeded"})
	sameData(t, "secret denied", data(f.secret("denied")), map[string]string{"v": "denied-value-seeded"})
	sameData(t, "secret fine", data(f.secret("fine")), map[string]string{"v": "fine-rotated-seeded"})
	if got := len(f.inventory().Entries); got != 3 {
		t.Fatalf("inventory has %d entries; the failing ExternalSecrets' Secrets must stay in it", got)
	}
}

func TestPruneDeletesOnlyWhatIsStillOurs(t *testing.T) {
	f := newFixture(t)
	for _, k := range []string{"a", "b", "c"} {
		f.seed("k/"+k, "value-"+k+"-seeded")
	}
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/b"), "c.yaml": f.es("c", "v=k/c")})
	mustOK(t, f.pass())

	ctx := context.Background()
	secrets := env.Client.CoreV1().Secrets(f.ns)
	// Someone takes b over by removing our label, and opts c out of pruning.
	b := f.secret("b")
	delete(b.Labels, reconciler.LabelManagedBy)
	if _, err := secrets.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := f.secret("c")
	c.Annotations[reconciler.AnnotationPrune] = "disabled"
	if _, err := secrets.Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.commit(map[string]string{"a.yaml": "", "b.yaml": "", "c.yaml": "", "d.yaml": f.es("d", "v=k/a")})
	res := f.pass()
	mustOK(t, res)
	if res.Pruned != 1 || f.secret("a") != nil {
		t.Fatalf("pruned %d; a still there: %v", res.Pruned, f.secret("a") != nil)
	}
	if f.secret("b") == nil || f.secret("c") == nil {
		t.Fatal("a Secret that is no longer ours, or opted out, was deleted")
	}
	if inv := f.inventory(); len(inv.Entries) != 1 || inv.Entries[0].Name != "d" {
		t.Fatalf("inventory = %+v", inv.Entries)
	}
}

func TestASecretThatIsNotOursIsNeverTakenOver(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	ctx := context.Background()
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: f.ns}, StringData: map[string]string{"v": "theirs"}}
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a")})
	res := f.pass()
	if res.Reason != reconciler.ApplyFailed || !strings.Contains(res.Errors[0].Error(), "not managed by secretsync") {
		t.Fatalf("reason %s, errors %v", res.Reason, res.Errors)
	}
	if got := data(f.secret("a"))["v"]; got != "theirs" {
		t.Fatal("the existing Secret was overwritten")
	}
}

func TestDriftIsSeenByTheWatchAndRepairedOnTheNextPass(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.seed("k/b", "value-b-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/b")})
	mustOK(t, f.passWith(false))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notified := make(chan struct{}, 16)
	go f.rec.WatchDrift(ctx, func() { notified <- struct{}{} })
	// The pass above ran with no watch, so it kept no expectations (as
	// `run --once` keeps none): the watch asks at once for a pass that
	// reads the Secrets and records them, even with nothing due.
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("a watch that started after an unwatched pass asked for no pass")
	}
	time.Sleep(300 * time.Millisecond) // let the watch start
	if res := f.passWith(false); !res.OK() || res.Stage != reconciler.StageDone || res.Applied != 0 {
		t.Fatalf("the pass the watch asked for: stage %s, applied %d, %v", res.Stage, res.Applied, res.Errors)
	}

	secrets := env.Client.CoreV1().Secrets(f.ns)
	s := f.secret("a")
	s.Data["v"] = []byte("edited by hand")
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("the drift watch did not notice a hand edit")
	}
	time.Sleep(200 * time.Millisecond) // both events in
	for len(notified) > 0 {
		<-notified
	}

	f.sm.SM.ResetCalls()
	res := f.passWith(false)
	mustOK(t, res)
	if res.Stage != reconciler.StageDone || res.Applied != 2 || res.Resolved != 2 {
		t.Fatalf("stage %s, applied %d, resolved %d", res.Stage, res.Applied, res.Resolved)
	}
	sameData(t, "secret a after a hand edit", data(f.secret("a")), map[string]string{"v": "value-a-seeded"})
	sameData(t, "secret b after a hand delete", data(f.secret("b")), map[string]string{"v": "value-b-seeded"})

	t.Run("our own writes are not drift", func(t *testing.T) {
		time.Sleep(time.Second)
		if n := len(notified); n != 0 {
			t.Fatalf("the repair's own writes were reported as drift %d times", n)
		}
	})

	t.Run("with the watch up and no drift, a new commit reads no Secret; after drift it reads and repairs", func(t *testing.T) {
		if _, err := f.repo.Commit("docs", map[string]string{"README.md": "one"}); err != nil {
			t.Fatal(err)
		}
		f.counter.Reset()
		mustOK(t, f.passWith(false))
		if n := f.counter.ByVerb()["list secrets"]; n != 0 {
			t.Fatalf("%d LISTs of Secrets while the watch saw no change (%v)", n, f.counter.ByVerb())
		}
		s := f.secret("a")
		s.Data["v"] = []byte("edited again")
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-notified:
		case <-time.After(10 * time.Second):
			t.Fatal("the drift watch did not notice the second hand edit")
		}
		if _, err := f.repo.Commit("docs", map[string]string{"README.md": "two"}); err != nil {
			t.Fatal(err)
		}
		mustOK(t, f.passWith(false))
		sameData(t, "secret a after a second hand edit", data(f.secret("a")), map[string]string{"v": "value-a-seeded"})
	})

	t.Run("an edit while the watch was down is repaired even after an idle poll", func(t *testing.T) {
		cancel()
		time.Sleep(300 * time.Millisecond) // the watch ends
		s := f.secret("a")
		s.Data["v"] = []byte("edited unwatched")
		if _, err := secrets.Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		go f.rec.WatchDrift(ctx2, func() {})
		time.Sleep(300 * time.Millisecond) // the watch starts again
		if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
			t.Fatalf("the idle poll ran to stage %s", res.Stage)
		}
		if _, err := f.repo.Commit("docs", map[string]string{"README.md": "three"}); err != nil {
			t.Fatal(err)
		}
		mustOK(t, f.passWith(false))
		sameData(t, "secret a after an edit the watch could not see", data(f.secret("a")), map[string]string{"v": "value-a-seeded"})
	})
}

func TestAnUnchangedRevisionSkipsWorkUntilARefreshIsDue(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a")})
	mustOK(t, f.passWith(false))
	f.sm.SM.ResetCalls()
	f.counter.Reset()
	res := f.passWith(false)
	if res.Stage != reconciler.StageSkipped || f.sm.SM.TotalCalls() != 0 || f.counter.Writes() != 0 || f.counter.Reads() != 0 {
		t.Fatalf("stage %s, %d AWS calls, %d writes, %d reads", res.Stage, f.sm.SM.TotalCalls(), f.counter.Writes(), f.counter.Reads())
	}

	t.Run("a new commit fetches only the values of what changed", func(t *testing.T) {
		f.commit(map[string]string{"b.yaml": f.es("b", "v=k/a")})
		res := f.passWith(false)
		mustOK(t, res)
		if res.Stage != reconciler.StageDone || res.Resolved != 1 || res.Applied != 1 || res.Unchanged != 1 {
			t.Fatalf("stage %s, resolved %d, applied %d, unchanged %d", res.Stage, res.Resolved, res.Applied, res.Unchanged)
		}
		if n := f.sm.SM.TotalCalls(); n != 1 {
			t.Fatalf("%d AWS calls, want 1", n)
		}
	})

	t.Run("a forced pass fetches a value shared by two ExternalSecrets once", func(t *testing.T) {
		f.sm.SM.ResetCalls()
		res := f.pass()
		mustOK(t, res)
		if res.Resolved != 2 || f.sm.SM.TotalCalls() != 1 {
			t.Fatalf("resolved %d with %d AWS calls (%v)", res.Resolved, f.sm.SM.TotalCalls(), f.sm.SM.Calls())
		}
	})
}

func TestRefreshIntervalIsPerExternalSecret(t *testing.T) {
	f := newFixture(t)
	f.seed("k/fast", "fast-value-seeded")
	f.seed("k/slow", "slow-value-seeded")
	f.seed("k/once", "once-value-seeded")
	f.commit(map[string]string{"store.yaml": f.store(),
		"fast.yaml": f.es("fast", "v=k/fast") + "  refreshInterval: 300ms\n",
		"slow.yaml": f.es("slow", "v=k/slow") + "  refreshInterval: 1h\n",
		"once.yaml": f.es("once", "v=k/once") + "  refreshInterval: \"0\"\n",
	})
	mustOK(t, f.passWith(false))
	f.rotate("k/fast", "fast-rotated-seeded")
	f.rotate("k/slow", "slow-rotated-seeded")
	f.rotate("k/once", "once-rotated-seeded")
	time.Sleep(400 * time.Millisecond)
	f.sm.SM.ResetCalls()
	res := f.passWith(false)
	mustOK(t, res)
	if res.Resolved != 1 || res.Applied != 1 || f.sm.SM.TotalCalls() != 1 {
		t.Fatalf("resolved %d, applied %d, %d AWS calls; want only the due one", res.Resolved, res.Applied, f.sm.SM.TotalCalls())
	}
	sameData(t, "secret fast", data(f.secret("fast")), map[string]string{"v": "fast-rotated-seeded"})
	sameData(t, "secret slow", data(f.secret("slow")), map[string]string{"v": "slow-value-seeded"})
	sameData(t, "secret once", data(f.secret("once")), map[string]string{"v": "once-value-seeded"})

	t.Run("an unchanged refresh writes no Secret", func(t *testing.T) {
		time.Sleep(400 * time.Millisecond)
		f.counter.Reset()
		res := f.passWith(false)
		mustOK(t, res)
		// At most the inventory, recording the refresh's time.
		if w, inv := f.counter.Writes(), f.counter.ByVerb()["apply configmaps"]; res.Resolved != 1 || res.Unchanged != 3 || w != inv || inv > 1 {
			t.Fatalf("resolved %d, unchanged %d, writes %v", res.Resolved, res.Unchanged, f.counter.ByVerb())
		}
	})
}

func TestAFetchFailurePrunesNothing(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a")})
	mustOK(t, f.pass())
	if err := removeAll(f.repo.Dir); err != nil {
		t.Fatal(err)
	}
	res := f.pass()
	if res.Reason != reconciler.FetchFailed || res.Stage != reconciler.StageFetch {
		t.Fatalf("reason %s stage %s", res.Reason, res.Stage)
	}
	if f.secret("a") == nil {
		t.Fatal("a fetch failure deleted a Secret")
	}
}

func TestStoreCredentialsComeFromTheSecretItNames(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.sm.SM.RequireAccessKeys("AKIDFROMSECRET")
	ctx := context.Background()
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-keys", Namespace: f.ns},
		StringData: map[string]string{"id": "AKIDFROMSECRET", "secret": "store-secret-key-seeded"}}
	f.seeds = append(f.seeds, "store-secret-key-seeded")
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, keys, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	store := f.store() + `      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-keys, key: id}
          secretAccessKeySecretRef: {name: aws-keys, key: secret}
`
	store = strings.Replace(store, "    aws: {service: SecretsManager, region: us-east-1}\n", "    aws:\n      service: SecretsManager\n      region: us-east-1\n", 1)
	f.commit(map[string]string{"store.yaml": store, "a.yaml": f.es("a", "v=k/a")})
	mustOK(t, f.pass())
	sameData(t, "secret a", data(f.secret("a")), map[string]string{"v": "value-a-seeded"})

	t.Run("a missing credentials Secret fails the ExternalSecret and names it", func(t *testing.T) {
		if err := env.Client.CoreV1().Secrets(f.ns).Delete(ctx, "aws-keys", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		res := f.pass()
		if res.Reason != reconciler.ResolveFailed || !strings.Contains(res.Errors[0].Error(), f.ns+"/aws-keys not found") {
			t.Fatalf("reason %s, errors %v", res.Reason, res.Errors)
		}
	})
}

func TestStoresWithTheSameIdentityShareBatches(t *testing.T) {
	f := newFixture(t)
	f.seed("team-a/k", "a-value-seeded")
	f.seed("team-b/k", "b-value-seeded")
	second := strings.Replace(f.store(), "name: aws,", "name: aws-b,", 1)
	second = strings.Replace(second, "region: us-east-1}", "region: us-east-1, prefix: team-b/}", 1)
	b := strings.Replace(f.es("b", "v=k"), "{name: aws}", "{name: aws-b}", 1)
	f.commit(map[string]string{"store.yaml": f.store() + "---\n" + second, "a.yaml": f.es("a", "v=team-a/k"), "b.yaml": b})
	f.sm.SM.ResetCalls()
	mustOK(t, f.pass())
	if calls := f.sm.SM.Calls(); calls["BatchGetSecretValue"] != 1 || f.sm.SM.TotalCalls() != 1 {
		t.Fatalf("calls = %v; want one batch for both stores", calls)
	}
	sameData(t, "secret b", data(f.secret("b")), map[string]string{"v": "b-value-seeded"})
}

func TestThePassCountsItsAWSCalls(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a")})
	res := f.pass()
	mustOK(t, res)
	if res.AWSCalls["BatchGetSecretValue ok"] != 1 || len(res.AWSCalls) != 1 {
		t.Fatalf("AWSCalls = %v", res.AWSCalls)
	}
	if !strings.Contains(f.logs.String(), `"aws_calls":1`) {
		t.Fatal("the summary line does not report AWS calls")
	}
}

func TestARefusedPruneKeepsEverythingAndSaysWhat(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/a")})
	mustOK(t, f.pass())

	f.commit(map[string]string{"a.yaml": "", "b.yaml": ""})
	res := f.pass()
	if res.Reason != reconciler.PruneFailed || f.secret("a") == nil || f.secret("b") == nil {
		t.Fatalf("reason %s; secrets a %v b %v", res.Reason, f.secret("a") != nil, f.secret("b") != nil)
	}
	want := []string{f.ns + "/a", f.ns + "/b"}
	if strings.Join(res.PruneRefused, ",") != strings.Join(want, ",") || !strings.Contains(res.Errors[0].Error(), "--allow-empty") {
		t.Fatalf("refused %v, errors %v", res.PruneRefused, res.Errors)
	}
	if len(f.inventory().Entries) != 2 {
		t.Fatal("a refused prune dropped entries from the inventory")
	}
}

func TestNamespacesOutsideTheAllowedListAreRefused(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.Namespaces = []string{"somewhere-else"} })
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a")})
	res := f.pass()
	if res.Failed != 1 || !strings.Contains(res.Errors[0].Error(), "is not one secretsync may write to") || f.secret("a") != nil {
		t.Fatalf("failed %d, errors %v", res.Failed, res.Errors)
	}
}

func TestBulkCreatesStillRefuseSomeoneElsesSecret(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.createForeign("es-07", map[string]string{"v": "theirs"})
	files := map[string]string{"store.yaml": f.store()}
	for i := range 40 {
		name := fmt.Sprintf("es-%02d", i)
		files[name+".yaml"] = f.es(name, "v=k/a")
	}
	f.commit(files)
	res := f.pass()
	if res.Applied != 39 || res.Failed != 1 || !strings.Contains(res.Errors[0].Error(), "es-07") {
		t.Fatalf("applied %d failed %d errors %v", res.Applied, res.Failed, res.Errors)
	}
	if got := data(f.secret("es-07"))["v"]; got != "theirs" {
		t.Fatal("the existing Secret was overwritten")
	}
}

// TestAFirstPassWithNothingToRecordSucceeds: a fresh install whose repo has
// no ExternalSecret yet records its revision (the inventory is created
// whole), so `status --wait` sees the commit.
func TestAFirstPassWithNothingToRecordSucceeds(t *testing.T) {
	f := newFixture(t)
	f.commit(map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"})
	if res := f.pass(); !res.OK() {
		t.Fatalf("pass: %v", res.Errors)
	}
	cm, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(context.Background(), "secretsync-inventory-"+f.ns, metav1.GetOptions{})
	if err != nil || !strings.HasPrefix(cm.Annotations[reconciler.AnnotationRevision], "main@sha1:") {
		t.Fatalf("inventory: %v, annotations %v", err, cm.Annotations)
	}
}

// TestACommitThatChangesNoSecretWritesNothing: a new revision that changes
// no Secret costs no API write; `status --wait --revision` asks for it by
// annotating the inventory, before or after that pass, and one patch then
// records it.
func TestACommitThatChangesNoSecretWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.seed("app/quiet", "quiet-value-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=app/quiet")})
	mustOK(t, f.pass())
	inventoryCM := func() *corev1.ConfigMap {
		cm, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(ctx, inventory.Name(f.ns), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	want := func(rev string) {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, inventory.AnnotationRevisionWanted, rev)
		if _, err := env.Client.CoreV1().ConfigMaps(f.ns).Patch(ctx, inventory.Name(f.ns), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := inventoryCM().Annotations[reconciler.AnnotationRevision]

	t.Run("unasked, the pass writes nothing", func(t *testing.T) {
		commit, err := f.repo.Commit("docs", map[string]string{"README.md": "one"})
		if err != nil {
			t.Fatal(err)
		}
		f.counter.Reset()
		mustOK(t, f.passWith(false))
		if w := f.counter.Writes(); w != 0 {
			t.Fatalf("%d API writes for a commit that changes no Secret (%v)", w, f.counter.ByVerb())
		}
		if got := inventoryCM().Annotations[reconciler.AnnotationRevision]; got != before {
			t.Fatalf("revision moved to %s unasked", got)
		}
		t.Run("asked after the pass, the revision is recorded once", func(t *testing.T) {
			want(commit[:10])
			if err := f.rec.RecordWantedRevision(ctx, inventoryCM()); err != nil {
				t.Fatal(err)
			}
			cm := inventoryCM()
			if !strings.HasSuffix(cm.Annotations[reconciler.AnnotationRevision], commit) || cm.Annotations[inventory.AnnotationRevisionWanted] != "" {
				t.Fatalf("annotations after the ask: %v", cm.Annotations)
			}
		})
	})

	t.Run("asked before the pass, that pass records it with one patch", func(t *testing.T) {
		commit, err := f.repo.Commit("docs", map[string]string{"README.md": "two"})
		if err != nil {
			t.Fatal(err)
		}
		want(commit[:12])
		f.counter.Reset()
		mustOK(t, f.passWith(false))
		if w := f.counter.ByVerb()["patch configmaps"]; w != 1 || f.counter.Writes() != 1 {
			t.Fatalf("writes %v, want one patch", f.counter.ByVerb())
		}
		cm := inventoryCM()
		if !strings.HasSuffix(cm.Annotations[reconciler.AnnotationRevision], commit) || cm.Annotations[inventory.AnnotationRevisionWanted] != "" {
			t.Fatalf("annotations: %v", cm.Annotations)
		}
		t.Run("a revision asked for but not yet handled is left to its pass", func(t *testing.T) {
			want("0000000")
			if err := f.rec.RecordWantedRevision(ctx, inventoryCM()); err != nil {
				t.Fatal(err)
			}
			if got := inventoryCM().Annotations[reconciler.AnnotationRevision]; !strings.HasSuffix(got, commit) {
				t.Fatalf("revision moved to %s", got)
			}
		})
	})
}
