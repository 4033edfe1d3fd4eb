package reconciler_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/reconciler"
)

func TestAPassWorksInPartsAndFetchesASharedValueOnce(t *testing.T) {
	reconciler.SetPartSize(t, 1)
	f := newFixture(t)
	for _, k := range []string{"a", "b", "c", "shared"} {
		f.seed("k/"+k, "value-"+k+"-seeded")
	}
	f.createForeign("merged", map[string]string{"theirs": "x"})
	f.commit(map[string]string{
		"store.yaml": f.store(),
		"a.yaml":     f.es("a", "v=k/a", "s=k/shared"),
		"b.yaml":     f.es("b", "v=k/b"),
		"c.yaml":     f.es("c", "v=k/c", "s=k/shared"),
		// Two writers of one key of one Secret: both are refused, which
		// needs them in the same part.
		"m1.yaml": withTarget(f.es("m1", "k=k/a"), "{name: merged, creationPolicy: Merge}"),
		"m2.yaml": withTarget(f.es("m2", "k=k/b"), "{name: merged, creationPolicy: Merge}"),
	})
	f.sm.SM.ResetCalls()
	res := f.pass()
	if res.Applied != 3 || res.Failed != 2 {
		t.Fatalf("applied %d, failed %d, errors %v", res.Applied, res.Failed, res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.Contains(e.Error(), "is written by 2 ExternalSecrets") {
			t.Fatalf("unexpected error: %v", e)
		}
	}
	sameData(t, "secret a", data(f.secret("a")), map[string]string{"v": "value-a-seeded", "s": "value-shared-seeded"})
	sameData(t, "secret b", data(f.secret("b")), map[string]string{"v": "value-b-seeded"})
	sameData(t, "secret c", data(f.secret("c")), map[string]string{"v": "value-c-seeded", "s": "value-shared-seeded"})
	if reads := f.sm.SM.Reads(); reads["k/shared"] != 1 || reads["k/a"] != 1 {
		t.Fatalf("values served %v: want each once, across parts", reads)
	}
	if batches := f.sm.SM.Calls()["BatchGetSecretValue"]; batches < 3 {
		t.Fatalf("%d BatchGetSecretValue calls: the pass was not worked in parts", batches)
	}
	if res.FetchTime <= 0 || res.Timings[reconciler.StageApply] <= 0 {
		t.Fatalf("fetch time %v, apply stage %v", res.FetchTime, res.Timings[reconciler.StageApply])
	}
}

func TestEventsPastTheCapAreCountedOnTheInventory(t *testing.T) {
	f := newFixture(t)
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.EventsPerPass = 2 })
	for _, k := range []string{"a", "b", "c"} {
		f.seed("k/"+k, "value-"+k+"-seeded")
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/b"), "c.yaml": f.es("c", "v=k/c"),
		"d.yaml": f.es("d", "v=k/missing")})
	f.pass()
	events := f.events()
	var created, failed, summary []string
	for _, e := range events {
		switch {
		case strings.HasPrefix(e, "secretsync-inventory-"+f.ns+"/Created: "):
			summary = append(summary, e)
		case strings.Contains(e, "/Created: "):
			created = append(created, e)
		case strings.HasPrefix(e, "d/SyncFailed: "):
			failed = append(failed, e)
		}
	}
	// The warning goes first; one Created fits under the cap of 2; the
	// other two are counted.
	if len(failed) != 1 || len(created) != 1 || len(summary) != 1 || !strings.Contains(summary[0], "2 more Secrets created") || len(events) != 3 {
		t.Fatalf("events = %v", events)
	}
}
