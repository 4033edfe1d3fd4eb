package reconciler_test

import (
	"slices"
	"testing"

	"github.com/secretsync/secretsync/reconciler"
)

// A change made in AWS to a pushed remote secret, once an event names it
// (Touch), makes the PushSecret that pushed it due: the next pass, not
// forced, puts the value back before the refreshInterval (an hour) has
// passed. Without the event, even a forced pass leaves it.
func TestPushSecretTouchedByAnAWSEventPutsTheValueBack(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "pushed-value-ev1"})
	f.commit(map[string]string{"store.yaml": f.store(), "p.yaml": f.push("p", "src", "", "k=ev/k")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.remember("changed-in-aws-ev2")
	f.sm.Put(t, "ev/k", "changed-in-aws-ev2")
	if res := f.pass(); !res.OK() || res.Pushed != 0 {
		t.Fatalf("pass before any event: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.remoteValue("ev/k", "changed-in-aws-ev2")

	if got := f.rec.Touch([]string{"ev/other"}, true); len(got) != 0 {
		t.Fatalf("an event for a name no PushSecret writes touched %q", got)
	}
	if got, want := f.rec.Touch([]string{"ev/k"}, false), []string{"PushSecret " + f.ns + "/p"}; !slices.Equal(got, want) {
		t.Fatalf("touched %q, want %q", got, want)
	}
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("pass after the event: %v, pushed %d, stage %s", res.Errors, res.Pushed, res.Stage)
	}
	f.remoteValue("ev/k", "pushed-value-ev1")

	// Put back once: the next pass is skipped again.
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("pass after the put-back: stage %s, %d AWS calls", res.Stage, f.sm.SM.TotalCalls())
	}
}

// An AWS event naming a remote secret whose PushSecret then fails to push
// is reported failed (Result.TouchedFailed), so the service keeps the
// event for a retry instead of settling it as ExternalSecretFailed alone
// would (it knows no PushSecret). One that pushes is not.
func TestAFailedPushIsReportedForTheEventThatTouchedIt(t *testing.T) {
	f := newFixture(t)
	f.commit(map[string]string{"store.yaml": f.store(), "p.yaml": f.push("p", "missing-src", "", "k=evf/k")})
	if res := f.pass(); res.OK() {
		t.Fatal("a PushSecret whose source is missing pushed")
	}
	touched := f.rec.Touch([]string{"evf/k"}, false)
	if want := []string{"PushSecret " + f.ns + "/p"}; !slices.Equal(touched, want) {
		t.Fatalf("touched %q, want %q", touched, want)
	}
	res := f.passWith(false)
	if res.OK() || !res.TouchedFailed(touched[0]) || res.ExternalSecretFailed(touched[0]) {
		t.Fatalf("ok %v, TouchedFailed %v; want the failed push reported for its event", res.OK(), res.TouchedFailed(touched[0]))
	}

	f.source(f.ns, "missing-src", map[string]string{"k": "pushed-value-evf"})
	if res := f.passWith(false); !res.OK() || res.TouchedFailed(touched[0]) {
		t.Fatalf("after the source appeared: %v, TouchedFailed %v", res.Errors, res.TouchedFailed(touched[0]))
	}
}
