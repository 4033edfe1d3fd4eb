package reconciler_test

import (
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// refreshInterval end to end, on the pass's clock: a value changed by hand
// in AWS is put back by the first pass after the PushSecret's interval
// (10m) has passed, not before, whether a pass is skipped or runs for a new
// revision; with refreshInterval 0 time never puts it back (a day later it
// is still the hand's), but a change of its source is still pushed.
func TestPushSecretRefreshIntervalPutsAHandChangeBackOnlyOnceItPasses(t *testing.T) {
	f := newFixture(t)
	clock := time.Now()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	pushed, pushedZero := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"k": pushed})
	f.source(f.ns, "src0", map[string]string{"k": pushedZero})
	f.commit(map[string]string{"store.yaml": f.store(),
		"ten.yaml":  f.push("ten", "src", "  refreshInterval: 10m\n", "k=iv/ten"),
		"zero.yaml": f.push("zero", "src0", "  refreshInterval: 0s\n", "k=iv/zero")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	byHand, byHandZero := leaktest.Canary(), leaktest.Canary()
	f.remember(byHand)
	f.remember(byHandZero)
	f.putRemote("iv/ten", byHand)
	f.putRemote("iv/zero", byHandZero)

	// Before the interval: a poll is skipped, and a pass a new revision
	// runs trusts what it pushed: no write, the hand's values stay.
	clock = clock.Add(5 * time.Minute)
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("poll at 5m: stage %s, calls %v", res.Stage, f.sm.SM.Calls())
	}
	f.commit(map[string]string{"README.md": "unrelated"})
	if res := f.passWith(false); !res.OK() || res.Stage == reconciler.StageSkipped || res.Pushed != 0 || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("pass of a new revision at 5m: stage %s, pushed %d, calls %v, errors %v", res.Stage, res.Pushed, f.sm.SM.Calls(), res.Errors)
	}
	f.remoteValue("iv/ten", byHand)
	f.remoteValue("iv/zero", byHandZero)

	// Past 10m: the poll runs, ten's value is put back; zero's stays.
	clock = clock.Add(6 * time.Minute)
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("poll at 11m: stage %s, pushed %d, errors %v", res.Stage, res.Pushed, res.Errors)
	}
	if c := f.sm.SM.Calls(); c["PutSecretValue"] != 1 || writes(c) != 1 {
		t.Fatalf("calls at 11m %v, want one PutSecretValue (iv/ten)", c)
	}
	f.remoteValue("iv/ten", pushed)
	f.remoteValue("iv/zero", byHandZero)

	// Changed by hand again, then a restart 4m after the check: the rows'
	// check time stands for it (no AWS call); at 11m past it, put back.
	f.putRemote("iv/ten", byHand)
	clock = clock.Add(4 * time.Minute)
	f.rec = f.newReconciler()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.Pushed != 0 || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("first pass after a restart, 4m after the check: pushed %d, calls %v, errors %v", res.Pushed, f.sm.SM.Calls(), res.Errors)
	}
	f.remoteValue("iv/ten", byHand)
	clock = clock.Add(7 * time.Minute)
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("poll after the restart, 11m after the check: stage %s, pushed %d, errors %v", res.Stage, res.Pushed, res.Errors)
	}
	f.remoteValue("iv/ten", pushed)
	f.remoteValue("iv/zero", byHandZero)

	// A day later: ten is compared again and holds its value (no write);
	// refreshInterval 0 is never refreshed by time.
	clock = clock.Add(24 * time.Hour)
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); !res.OK() || res.Pushed != 0 || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("poll a day later: stage %s, pushed %d, calls %v, errors %v", res.Stage, res.Pushed, f.sm.SM.Calls(), res.Errors)
	}
	f.remoteValue("iv/ten", pushed)
	f.remoteValue("iv/zero", byHandZero)

	// zero's source changes: the next poll pushes it.
	changed := leaktest.Canary()
	f.source(f.ns, "src0", map[string]string{"k": changed})
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("poll after zero's source changed: stage %s, pushed %d, errors %v", res.Stage, res.Pushed, res.Errors)
	}
	f.remoteValue("iv/zero", changed)
	f.remoteValue("iv/ten", pushed)
}
