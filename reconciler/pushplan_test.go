package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/reconciler"
)

// The remote secrets dataTo names after a source's keys (Git does not show
// them) stay held against other namespaces while their PushSecret keeps
// them (a generator's values not due) or fails (its source gone): a
// PushSecret of another namespace that names one is refused with it, in
// diff as in run, and the remote secret keeps its value.
func TestDataToNamesAreHeldWhileTheirPushSecretKeepsOrFails(t *testing.T) {
	for _, c := range []struct{ name, selector string }{
		{"kept generated values", "  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}\n"},
		{"a source that is gone", "  selector: {secret: {name: src}}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			other := "t-" + randomSuffix()
			if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
			gen := fmt.Sprintf("apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: %s}\nspec: {length: 24, symbols: 0}\n", other)
			f.source(other, "src", map[string]string{"password": leaktest.Canary()})
			b := fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: b, namespace: %s}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n%s  dataTo: [{storeRef: {name: shared, kind: ClusterSecretStore}, rewrite: [{regexp: {source: '^password$', target: 'team-b/db'}}]}]\n", other, c.selector)
			f.commit(map[string]string{"css.yaml": css, "gen.yaml": gen, "b.yaml": b})
			if res := f.pass(); !res.OK() || res.Pushed != 1 {
				t.Fatalf("team b's push: %v, pushed %d", res.Errors, res.Pushed)
			}
			before, _, _, _ := f.remote("team-b/db")
			f.remember(before)
			if err := env.Client.CoreV1().Secrets(other).Delete(context.Background(), "src", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			f.source(f.ns, "src", map[string]string{"k": leaktest.Canary()})
			a := fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: a, namespace: %s}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: team-b/db}}}]\n", f.ns)
			f.commit(map[string]string{"a.yaml": a})
			// b is refused for the shared name, or for its own failure.
			got := f.diffPushes()
			if r := got["refused team-b/db (a)"]; len(got) != 2 || !strings.Contains(r, "also pushed by a PushSecret of namespace(s)") || got["refused team-b/db (b)"] == "" {
				t.Fatalf("diff %v, want a refused for the shared remote secret, and b refused", got)
			}
			f.sm.SM.ResetCalls()
			res := f.pass()
			if len(res.Errors) != 2 || !strings.Contains(fmt.Sprint(res.Errors), "PushSecret "+f.ns+"/a (a.yaml): spec.data[0]: remote secret team-b/db in ClusterSecretStore/shared is also pushed") {
				t.Fatalf("errors %v, want a refused for team-b/db, and b refused", res.Errors)
			}
			if c := f.sm.SM.Calls(); writes(c) != 0 {
				t.Fatalf("calls %v, want no write", c)
			}
			f.remoteValue("team-b/db", before)
		})
	}
}

// A PushSecret whose push AWS denies backs off on its own: the polls
// inside its backoff, the revision unchanged, run no pass at all (no AWS
// call, for the ExternalSecret not due either), and the one after its
// retry time pushes it again, reading nothing for the ExternalSecret.
func TestAPushSecretBackingOffForcesNoFullPass(t *testing.T) {
	f := newFixture(t)
	clock := time.Now()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	f.seed("bo/es", leaktest.Canary())
	f.source(f.ns, "src", map[string]string{"k": leaktest.Canary()})
	var mu sync.Mutex
	esReads, deny := 0, true
	f.sm.SM.SetFault(func(op, id string) error {
		mu.Lock()
		defer mu.Unlock()
		if id == "bo/es" {
			esReads++
		}
		if deny && op == "CreateSecret" {
			return smserver.ErrDenied
		}
		return nil
	})
	f.commit(map[string]string{"store.yaml": f.store(), "es.yaml": f.es("app", "k=bo/es"), "p.yaml": f.push("p", "src", "", "k=bo/k")})
	if res := f.pass(); res.OK() || res.Applied != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "AccessDenied") {
		t.Fatalf("first pass: applied %d, errors %v; want the Secret applied and the push denied", res.Applied, res.Errors)
	}
	esRead := func() int { mu.Lock(); defer mu.Unlock(); n := esReads; esReads = 0; return n }
	esRead()
	for range 3 {
		clock = clock.Add(10 * time.Second)
		f.sm.SM.ResetCalls()
		if res := f.passWith(false); res.Stage != reconciler.StageSkipped || f.sm.SM.TotalCalls() != 0 {
			t.Fatalf("poll inside the backoff: stage %s, AWS calls %v; want no pass", res.Stage, f.sm.SM.Calls())
		}
	}
	clock = clock.Add(time.Minute) // the first retry comes a minute after the failure
	mu.Lock()
	deny = false
	mu.Unlock()
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 || esRead() != 0 {
		t.Fatalf("poll at the retry time: %v, pushed %d; want the push retried and the ExternalSecret not read", res.Errors, res.Pushed)
	}
}

// pushParity asks DiffPushes what the next pass does to the remote
// secrets (checking it writes nothing to AWS and prints no value), runs
// that pass, and fails unless the pass took exactly the actions diff
// listed, reasons included, and they are want ("kind remoteKey (name)",
// or "kind remoteKey#property (name)", in order). It returns the pass's Result.
func (f *fixture) pushParity(step string, want ...string) reconciler.Result {
	f.t.Helper()
	f.sm.SM.ResetCalls()
	diff, errs := f.rec.DiffPushes(context.Background())
	if len(errs) > 0 {
		f.t.Fatalf("%s: diff errors: %v", step, errs)
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		f.t.Fatalf("%s: diff made AWS write calls: %v", step, c)
	}
	out, _ := json.Marshal(diff)
	var c leaktest.Canaries
	c.Add(f.seeds...)
	c.Check(f.t, "the diff", string(out))
	res := f.pass()
	if d := cmp.Diff(diff, res.PushActions); d != "" {
		f.t.Fatalf("%s: the pass took other actions than diff said (-diff +pass):\n%s", step, d)
	}
	var got []string
	for _, a := range res.PushActions {
		_, name, _ := strings.Cut(a.PushSecret, "/")
		remote := a.RemoteKey
		if a.Property != "" {
			remote += "#" + a.Property
		}
		got = append(got, fmt.Sprintf("%s %s (%s)", a.Kind, remote, name))
	}
	if d := cmp.Diff(want, got); d != "" {
		f.t.Fatalf("%s: actions (-want +got):\n%s", step, d)
	}
	return res
}

// diff and run take their PushSecret actions from one decision: on the
// same state, the actions diff lists are the ones the pass then takes, for
// a create, a keep (in memory, and from the rows after a restart), an update of a changed source, a change made by hand
// in AWS (kept until an AWS event makes its PushSecret due, then put back:
// never announced before), a delete under deletionPolicy Delete, a
// refusal (a remote secret not ours), IfNotExists on one that exists
// (left), a PushSecret backing off after a failed push (left, calling
// nothing), a delete the prune guard refuses, properties taken out of a
// remote JSON secret (one delete per property), and a delete that waits
// for a store that left Git with its PushSecret.
func TestDiffAndRunTakeTheSamePushActions(t *testing.T) {
	f := newFixture(t)
	a, b := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"a": a, "b": b})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "p.yaml": f.push("p", "src", del, "a=par/a", "b=par/b", "a=par/gone")})
	f.pushParity("first pass", "create par/a (p)", "create par/b (p)", "create par/gone (p)")
	f.pushParity("nothing changed", "keep par/a (p)", "keep par/b (p)", "keep par/gone (p)")
	if f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("a pass that keeps what it vouches for called AWS: %v", f.sm.SM.Calls())
	}
	f.rec = f.newReconciler() // a new process (as the diff command is): the rows vouch
	f.pushParity("after a restart", "keep par/a (p)", "keep par/b (p)", "keep par/gone (p)")

	a = leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"a": a, "b": b})
	f.pushParity("source changed", "update par/a (p)", "keep par/b (p)", "update par/gone (p)")

	hand := leaktest.Canary()
	f.remember(hand)
	f.sm.Put(t, "par/b", hand)
	f.pushParity("changed by hand, not due", "keep par/a (p)", "keep par/b (p)", "keep par/gone (p)")
	f.remoteValue("par/b", hand)
	f.rec.Touch([]string{"par/b"}, false)
	f.pushParity("changed by hand, an AWS event named it", "keep par/a (p)", "update par/b (p)", "keep par/gone (p)")
	f.remoteValue("par/b", b)

	f.seed("par/hand", leaktest.Canary())
	f.seed("par/kept", leaktest.Canary()) // its own: two PushSecrets of one namespace on one remote secret are refused
	f.commit(map[string]string{
		"p.yaml":     f.push("p", "src", del, "a=par/a", "b=par/b"),
		"over.yaml":  f.push("over", "src", "", "a=par/hand"),
		"claim.yaml": f.push("claim", "src", "  updatePolicy: IfNotExists\n", "a=par/kept"),
	})
	res := f.pushParity("a key left Git, a push over one not ours", "leave par/kept (claim)", "refused par/hand (over)",
		"keep par/a (p)", "keep par/b (p)", "delete par/gone (p)")
	if res.OK() || res.PushDeleted != 1 {
		t.Fatalf("pass: %v, deleted %d; want over refused and par/gone deleted", res.Errors, res.PushDeleted)
	}
	f.sm.SM.ResetCalls()
	res = f.pushParity("a PushSecret backing off", "keep par/kept (claim)", "leave par/hand (over)",
		"keep par/a (p)", "keep par/b (p)")
	if len(res.Errors) != 1 || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("pass: %v, AWS calls %v; want over's last error and no call", res.Errors, f.sm.SM.Calls())
	}

	f.commit(map[string]string{"p.yaml": f.push("p", "src", del, "a=par/a"),
		"broken.yaml": "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: x, namespace: " + f.ns + "}\nspec: {}\n"})
	res = f.pushParity("a delete the prune guard refuses", "keep par/kept (claim)", "leave par/hand (over)", "keep par/a (p)", "refused par/b (p)")
	if res.PushDeleted != 0 || !strings.Contains(res.PushActions[3].Reason, "render reported") {
		t.Fatalf("pass: deleted %d, actions %+v; want the delete of par/b refused for the render error", res.PushDeleted, res.PushActions)
	}
	f.remoteValue("par/b", b)

	keep := strings.Replace(f.store(), "name: aws", "name: keep", 1)
	q := strings.Replace(f.push("q", "src", del, "b=par/q"), "name: aws}", "name: keep}", 1)
	f.commit(map[string]string{"broken.yaml": "", "over.yaml": "", "claim.yaml": "", "keep.yaml": keep, "q.yaml": q,
		"p.yaml": f.push("p", "src", del, "a=par/a", "a=par/json#x", "b=par/json#y", "a=par/one#z")})
	f.pushParity("properties pushed, the guard's refusal lifted", "keep par/a (p)", "create par/json#x (p)", "update par/json#y (p)",
		"create par/one#z (p)", "create par/q (q)", "delete par/b (p)")
	f.commit(map[string]string{"p.yaml": f.push("p", "src", del, "a=par/a", "a=par/json#x")})
	res = f.pushParity("properties left Git", "keep par/a (p)", "keep par/json#x (p)", "keep par/q (q)", "delete par/json#y (p)", "delete par/one#z (p)")
	if res.PushDeleted != 2 {
		t.Fatalf("pass: deleted %d, want par/json's y taken out and par/one deleted with its last property", res.PushDeleted)
	}
	f.remoteJSON("par/json", map[string]string{"x": a})
	f.commit(map[string]string{"keep.yaml": "", "q.yaml": ""})
	res = f.pushParity("a PushSecret and its store left Git", "keep par/a (p)", "keep par/json#x (p)", "refused par/q (q)")
	if !res.OK() || !strings.Contains(res.PushActions[2].Reason, "store is not in the rendered manifests") {
		t.Fatalf("pass: %v, actions %+v; want par/q's delete waiting for its store, not a failure", res.Errors, res.PushActions)
	}
}
