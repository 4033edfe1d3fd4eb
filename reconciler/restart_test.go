package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

// The tests of this file hold ESO's refresh rules (shouldRefresh and
// shouldRefreshPeriodic in ESO 2.9.0's externalsecret_controller.go) across
// processes: each pass after the first runs in a new Reconciler with no
// memory, against the same repo, cluster and AWS, as after a restart, a
// leader change or `run --once`.

// restart stands for a new process whose clock reads now.
func (f *fixture) restart(now time.Time) {
	f.t.Helper()
	f.rec = f.newReconciler()
	reconciler.SetNow(f.rec, func() time.Time { return now })
}

// reads is how many times the remote secret's value has been served.
func (f *fixture) reads(name string) int { return f.sm.SM.Reads()[name] }

// secretWrites counts the writes to Secrets the counted client made.
func (f *fixture) secretWrites() int64 {
	var n int64
	for verb, c := range f.counter.ByVerb() {
		if strings.HasSuffix(verb, " secrets") && !strings.HasPrefix(verb, "get ") && !strings.HasPrefix(verb, "list ") && !strings.HasPrefix(verb, "watch ") {
			n += c
		}
	}
	return n
}

// writesBesideRefreshTime counts the writes the counted client made, but
// for one inventory apply: a forced pass records its refresh time, to the
// second, so two passes a second apart write the inventory once.
func (f *fixture) writesBesideRefreshTime() int {
	w := int(f.counter.Writes())
	if f.counter.ByVerb()["apply configmaps"] == 1 {
		w--
	}
	return w
}

// withAnnotation adds an annotation to an ExternalSecret made by f.es.
func (f *fixture) withAnnotation(es, key, value string) string {
	return strings.Replace(es, "namespace: "+f.ns+"}", "namespace: "+f.ns+", annotations: {"+key+": \""+value+"\"}}", 1)
}

func start() time.Time { return time.Now().UTC().Truncate(time.Second) }

func TestCreatedOnceIsNeverFetchedAgainByAnotherProcess(t *testing.T) {
	f := newFixture(t)
	f.seed("k/once", "once-first-seeded")
	es := f.es("once", "v=k/once") + "  refreshPolicy: CreatedOnce\n"
	f.commit(map[string]string{"store.yaml": f.store(), "once.yaml": es})
	t0 := start()
	f.restart(t0)
	mustOK(t, f.passWith(false))
	f.rotate("k/once", "once-rotated-seeded")
	f.sm.SM.ResetCalls()
	// A restart, a change of the ExternalSecret, and `reconcile --refresh`
	// (ESO's force-sync): none fetches a CreatedOnce value again.
	f.restart(t0.Add(48 * time.Hour))
	mustOK(t, f.passWith(false))
	f.commit(map[string]string{"once.yaml": f.withAnnotation(es, "force-sync", "1")})
	f.restart(t0.Add(49 * time.Hour))
	mustOK(t, f.passWith(false))
	f.restart(t0.Add(50 * time.Hour))
	mustOK(t, f.passWith(true))
	if n := f.reads("k/once"); n != 0 {
		t.Fatalf("k/once read %d times after the first process; want 0", n)
	}
	sameData(t, "secret once", data(f.secret("once")), map[string]string{"v": "once-first-seeded"})

	t.Run("with the inventory lost, the Secret still stands for its sync", func(t *testing.T) {
		if err := env.Client.CoreV1().ConfigMaps(f.ns).Delete(context.Background(), inventory.Name(f.ns), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.restart(t0.Add(50*time.Hour + time.Minute))
		mustOK(t, f.passWith(false))
		if n := f.reads("k/once"); n != 0 {
			t.Fatalf("k/once read %d times; want 0", n)
		}
		sameData(t, "secret once", data(f.secret("once")), map[string]string{"v": "once-first-seeded"})
	})

	t.Run("a hand edit of the Secret's data makes the next process fetch it again, as ESO's data hash does", func(t *testing.T) {
		patch := []byte(`{"data":{"v":"` + "ZWRpdGVkLWJ5LWhhbmQ=" + `"}}`) // "edited-by-hand"
		if _, err := env.Client.CoreV1().Secrets(f.ns).Patch(context.Background(), "once", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		f.restart(t0.Add(51 * time.Hour))
		mustOK(t, f.passWith(false))
		if n := f.reads("k/once"); n != 1 {
			t.Fatalf("k/once read %d times; want 1", n)
		}
		sameData(t, "secret once", data(f.secret("once")), map[string]string{"v": "once-rotated-seeded"})
	})

	t.Run("a deleted Secret is fetched and made again", func(t *testing.T) {
		f.rotate("k/once", "once-third-seeded")
		if err := env.Client.CoreV1().Secrets(f.ns).Delete(context.Background(), "once", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.restart(t0.Add(52 * time.Hour))
		mustOK(t, f.passWith(false))
		if n := f.reads("k/once"); n != 2 {
			t.Fatalf("k/once read %d times; want 2", n)
		}
		sameData(t, "secret once", data(f.secret("once")), map[string]string{"v": "once-third-seeded"})
	})
}

func TestOnChangeIsFetchedAgainOnlyWhenTheExternalSecretChanges(t *testing.T) {
	f := newFixture(t)
	f.seed("k/app", "app-first-seeded")
	es := f.es("app", "v=k/app") + "  refreshPolicy: OnChange\n"
	f.commit(map[string]string{"store.yaml": f.store(), "app.yaml": es})
	t0 := start()
	f.restart(t0)
	mustOK(t, f.passWith(false))
	f.rotate("k/app", "app-second-seeded")
	f.sm.SM.ResetCalls()
	// A restart, then an AWS event naming the remote secret: a remote
	// change alone never fetches an OnChange value.
	f.restart(t0.Add(48 * time.Hour))
	mustOK(t, f.passWith(false))
	if got := f.rec.Touch([]string{"k/app"}, false); len(got) != 1 {
		t.Fatalf("Touch named %v", got)
	}
	mustOK(t, f.passWith(false))
	if n := f.reads("k/app"); n != 0 {
		t.Fatalf("k/app read %d times after the first process; want 0", n)
	}
	sameData(t, "secret app", data(f.secret("app")), map[string]string{"v": "app-first-seeded"})

	t.Run("a change of its annotations alone is a change, as ESO's resource version covers them", func(t *testing.T) {
		f.commit(map[string]string{"app.yaml": f.withAnnotation(es, "force-sync", "1")})
		f.restart(t0.Add(49 * time.Hour))
		mustOK(t, f.passWith(false))
		f.restart(t0.Add(50 * time.Hour))
		mustOK(t, f.passWith(false))
		if n := f.reads("k/app"); n != 1 {
			t.Fatalf("k/app read %d times; want 1", n)
		}
		sameData(t, "secret app", data(f.secret("app")), map[string]string{"v": "app-second-seeded"})
	})

	t.Run("reconcile --refresh fetches it, as ESO's force-sync does", func(t *testing.T) {
		f.rotate("k/app", "app-third-seeded")
		f.restart(t0.Add(51 * time.Hour))
		mustOK(t, f.passWith(true))
		if n := f.reads("k/app"); n != 2 {
			t.Fatalf("k/app read %d times; want 2", n)
		}
		sameData(t, "secret app", data(f.secret("app")), map[string]string{"v": "app-third-seeded"})
	})
}

func TestRefreshIntervalZeroIsFetchedOnceEvenWhenItsSpecChanges(t *testing.T) {
	f := newFixture(t)
	f.seed("k/zero", "zero-first-seeded")
	es := f.es("zero", "v=k/zero") + "  refreshInterval: \"0\"\n"
	f.commit(map[string]string{"store.yaml": f.store(), "zero.yaml": es})
	t0 := start()
	f.restart(t0)
	mustOK(t, f.passWith(false))
	f.rotate("k/zero", "zero-second-seeded")
	f.sm.SM.ResetCalls()
	f.restart(t0.Add(48 * time.Hour))
	mustOK(t, f.passWith(false))
	// A change of its spec and of its annotations (ESO's force-sync), then
	// `reconcile --refresh`: ESO's shouldRefreshPeriodic answers no to all
	// once the ExternalSecret has synced.
	f.commit(map[string]string{"zero.yaml": f.withAnnotation(es, "force-sync", "1") + "  target: {creationPolicy: Owner}\n"})
	f.restart(t0.Add(49 * time.Hour))
	mustOK(t, f.passWith(false))
	f.restart(t0.Add(50 * time.Hour))
	mustOK(t, f.passWith(true))
	if n := f.reads("k/zero"); n != 0 {
		t.Fatalf("k/zero read %d times after the first process; want 0", n)
	}
	sameData(t, "secret zero", data(f.secret("zero")), map[string]string{"v": "zero-first-seeded"})
}

func TestPeriodicRefreshIsDueFromTheLastRefreshNotTheProcessStart(t *testing.T) {
	f := newFixture(t)
	f.seed("k/hourly", "hourly-first-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "hourly.yaml": f.es("hourly", "v=k/hourly") + "  refreshInterval: 1h\n"})
	t0 := start()
	f.restart(t0)
	mustOK(t, f.passWith(false))
	f.rotate("k/hourly", "hourly-second-seeded")
	f.sm.SM.ResetCalls()
	step := func(at time.Duration, reads int, value string) {
		t.Helper()
		f.restart(t0.Add(at))
		mustOK(t, f.passWith(false))
		if n := f.reads("k/hourly"); n != reads {
			t.Fatalf("at +%s: k/hourly read %d times; want %d", at, n, reads)
		}
		sameData(t, "secret hourly at +"+at.String(), data(f.secret("hourly")), map[string]string{"v": value})
	}
	f.counter.Reset()
	step(30*time.Minute, 0, "hourly-first-seeded")
	if n := f.counter.Writes(); n != 0 {
		t.Fatalf("a pass with nothing due made %d writes (%v)", n, f.counter.ByVerb())
	}
	step(61*time.Minute, 1, "hourly-second-seeded")
	step(91*time.Minute, 1, "hourly-second-seeded")

	t.Run("a refresh that finds the same values writes no Secret, and the next is due an interval after it", func(t *testing.T) {
		f.counter.Reset()
		step(122*time.Minute, 2, "hourly-second-seeded")
		if n := f.secretWrites(); n != 0 {
			t.Fatalf("an unchanged refresh made %d Secret writes (%v)", n, f.counter.ByVerb())
		}
		step(152*time.Minute, 2, "hourly-second-seeded")
		step(183*time.Minute, 3, "hourly-second-seeded")
	})

	t.Run("a process that restored the state refreshes when it falls due, without a restart", func(t *testing.T) {
		f.rotate("k/hourly", "hourly-third-seeded")
		step(200*time.Minute, 3, "hourly-second-seeded") // restored, not due (refreshed at +183m)
		reconciler.SetNow(f.rec, func() time.Time { return t0.Add(245 * time.Minute) })
		mustOK(t, f.passWith(false)) // same revision, same process: only a due refresh makes it work
		if n := f.reads("k/hourly"); n != 4 {
			t.Fatalf("k/hourly read %d times; want 4", n)
		}
		sameData(t, "secret hourly", data(f.secret("hourly")), map[string]string{"v": "hourly-third-seeded"})
	})
}

// TestTheRefreshStateCannotBeForgedFromGit: the refresh state lives in the
// inventory's rows, which only secretsync writes. An ExternalSecret
// carrying ESO's status (a refresh time far ahead, a synced resource
// version) is fetched as one never synced; a template that sets the
// annotations the state is checked against (data hash, external secret,
// source, revision) gets none of them on its Secret; and an ExternalSecret
// whose ConfigMap target is named as the inventory, which would replace
// the rows with its own, is refused by name and writes nothing there. The
// next process then decides from the real rows.
func TestTheRefreshStateCannotBeForgedFromGit(t *testing.T) {
	f := newFixture(t)
	f.seed("k/app", "forge-first-seeded")
	forged := `{secretsync.io/data-hash: forged, secretsync.io/external-secret: other/es, secretsync.io/source: forged.yaml, secretsync.io/revision: forged}`
	app := withTarget(f.es("app", "v=k/app"), "{template: {metadata: {annotations: "+forged+"}}}") +
		"  refreshPolicy: OnChange\nstatus: {refreshTime: \"2099-01-01T00:00:00Z\", syncedResourceVersion: \"1-forged\"}\n"
	inv := inventory.Name(f.ns)
	forge := withTarget(f.es("forge", "v=k/app"), "{name: "+inv+", manifest: {apiVersion: v1, kind: ConfigMap}, template: {data: {summary: forged}, metadata: {annotations: {secretsync.io/inventory-shards: \"1\"}}}}")
	f.commit(map[string]string{"store.yaml": f.store(), "app.yaml": app, "forge.yaml": forge})
	t0 := start()
	f.restart(t0)
	res := f.passWith(false)
	if msg := strings.Join(errStrings(res), "\n"); res.OK() || !strings.Contains(msg, "forge") || !strings.Contains(msg, "a ConfigMap named "+inv+" is refused") {
		t.Fatalf("the inventory-named target was not refused by name: %s", msg)
	}
	if n := f.reads("k/app"); n != 1 {
		t.Fatalf("k/app read %d times; want 1: a status in Git is not a sync", n)
	}
	s := f.secret("app")
	if s == nil {
		t.Fatal("no secret app")
	}
	want := map[string]string{reconciler.AnnotationExternalSecret: f.ns + "/app", reconciler.AnnotationSource: "app.yaml", reconciler.AnnotationRevision: res.Revision}
	for k, v := range want {
		if s.Annotations[k] != v {
			t.Fatalf("annotation %s is %q, want %q", k, s.Annotations[k], v)
		}
	}
	if s.Annotations[reconciler.AnnotationDataHash] == "forged" {
		t.Fatal("the template set the data hash")
	}
	cm, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(context.Background(), inv, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["summary"] == "forged" || cm.Annotations[reconciler.AnnotationExternalSecret] != "" {
		t.Fatal("the ExternalSecret wrote into the inventory")
	}
	var row *inventory.Status
	for _, st := range f.inventory().Status {
		if st.ExternalSecret == f.ns+"/app" {
			row = &st
		}
	}
	if row == nil || row.Synced == "" || row.Refreshed == nil || !row.Refreshed.Time.Equal(t0) {
		t.Fatalf("the inventory's row for app: %+v", row)
	}

	f.rotate("k/app", "forge-second-seeded")
	f.restart(t0.Add(48 * time.Hour))
	f.passWith(false)
	if n := f.reads("k/app"); n != 1 {
		t.Fatalf("k/app read %d times; want 1: the next process decides from the real rows", n)
	}
	sameData(t, "secret app", data(f.secret("app")), map[string]string{"v": "forge-first-seeded"})
}
