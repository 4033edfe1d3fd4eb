package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/pushsecret"
)

// diffPushes runs DiffPushes, checks it wrote nothing to AWS and printed
// no value, and returns its actions but keep as "action remoteKey
// (PushSecret name)", with a refusal's reason after " : ".
func (f *fixture) diffPushes() map[string]string {
	f.t.Helper()
	f.sm.SM.ResetCalls()
	actions, errs := f.rec.DiffPushes(context.Background())
	if len(errs) > 0 {
		f.t.Fatalf("diff errors: %v", errs)
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		f.t.Fatalf("diff made AWS write calls: %v", c)
	}
	out, _ := json.Marshal(actions)
	var c leaktest.Canaries
	c.Add(f.seeds...)
	c.Check(f.t, "the diff", string(out))
	got := map[string]string{}
	for _, a := range actions {
		if a.Kind == pushsecret.Keep {
			continue
		}
		_, name, _ := strings.Cut(a.PushSecret, "/")
		got[fmt.Sprintf("%s %s (%s)", a.Kind, a.RemoteKey, name)] = a.Would + " : " + a.Reason
	}
	return got
}

// diff shows what the next pass would do to each remote secret a
// PushSecret writes, deciding as the pass does, reading only: create,
// update (the value compared in AWS), refused with the reason (not ours,
// scheduled for deletion, a source missing), leave for IfNotExists on one
// that exists (run leaves it, whoever made it, as ESO does),
// delete under deletionPolicy Delete, and a delete the prune guard
// refuses. It makes no AWS write call and prints no value; the pass that
// follows does what it said.
func TestDiffShowsWhatThePushesWouldDo(t *testing.T) {
	f := newFixture(t)
	f.seed("hand/made", leaktest.Canary())
	f.seed("hand/kept", leaktest.Canary()) // one remote secret a PushSecret: two of one namespace on one are refused
	f.seedTagged("sched/x", leaktest.Canary(), map[string]string{providers.ManagedByTag: providers.ManagedByValue})
	if _, err := f.sm.Client().DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: awssdk.String("sched/x"), RecoveryWindowInDays: awssdk.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	a, b := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"a": a, "b": b})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "p.yaml": f.push("p", "src", del, "a=diff/a", "b=diff/b", "a=diff/gone")})
	if res := f.pass(); !res.OK() || res.Pushed != 3 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	if got := f.diffPushes(); len(got) != 0 {
		t.Fatalf("diff after the pass: %v, want nothing", got)
	}

	f.source(f.ns, "src", map[string]string{"a": leaktest.Canary(), "b": b})
	f.commit(map[string]string{
		"p.yaml":       f.push("p", "src", del, "a=diff/a", "b=diff/b", "b=diff/new"),
		"over.yaml":    f.push("over", "src", "", "a=hand/made"),
		"claim.yaml":   f.push("claim", "src", "  updatePolicy: IfNotExists\n", "a=hand/kept"),
		"sched.yaml":   f.push("sched", "src", "", "a=sched/x"),
		"missing.yaml": f.push("missing", "nothere", "", "a=diff/missing"),
	})
	want := map[string]string{
		"update diff/a (p)":              " : ",
		"leave hand/kept (claim)":        " : exists; updatePolicy IfNotExists leaves it as it is",
		"create diff/new (p)":            " : ",
		"delete diff/gone (p)":           " : ",
		"refused hand/made (over)":       "push : NotManaged secretsmanager:hand/made: exists without the tag managed-by=external-secrets: it was not made by a push, so it is never overwritten",
		"refused sched/x (sched)":        "push : Invalid secretsmanager:sched/x: is scheduled for deletion; restore it or wait for its recovery window to end",
		"refused diff/missing (missing)": "push : source Secret " + f.ns + "/nothere not found",
	}
	got := f.diffPushes()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("diff (-want +got):\n%s", diff)
	}

	// Under a render error the prune guard refuses the delete: diff says so.
	f.commit(map[string]string{"broken.yaml": "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: x, namespace: " + f.ns + "}\nspec: {}\n"})
	got = f.diffPushes()
	if r, ok := got["refused diff/gone (p)"]; !ok || !strings.HasPrefix(r, "delete : ") || !strings.Contains(r, "render reported") {
		t.Fatalf("diff under a render error: %v, want the delete of diff/gone refused by the guard", got)
	}

	// The pass does what diff said.
	f.commit(map[string]string{"broken.yaml": "", "over.yaml": "", "claim.yaml": "", "sched.yaml": "", "missing.yaml": ""})
	if res := f.pass(); !res.OK() || res.Pushed != 2 || res.PushDeleted != 1 {
		t.Fatalf("pass: %v, pushed %d, deleted %d; want diff/a updated, diff/new created, diff/gone deleted", res.Errors, res.Pushed, res.PushDeleted)
	}
	if got := f.diffPushes(); len(got) != 0 {
		t.Fatalf("diff after the pass: %v, want nothing", got)
	}
}

// PushSecrets of two namespaces on one remote secret are refused by the
// pass before any push: diff shows both refused, naming the remote secret,
// and writes nothing.
func TestDiffShowsPushesOfTwoNamespacesRefused(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	pushIn := func(ns, name string) string {
		f.source(ns, "src", map[string]string{"k": leaktest.Canary()})
		return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: shared/db}}}]\n", name, ns)
	}
	f.commit(map[string]string{"css.yaml": css, "a.yaml": pushIn(f.ns, "a"), "b.yaml": pushIn(other, "b")})
	got := f.diffPushes()
	if len(got) != 2 {
		t.Fatalf("diff %v, want both PushSecrets refused", got)
	}
	for k, reason := range got {
		if !strings.HasPrefix(k, "refused shared/db (") || !strings.Contains(reason, "also pushed by a PushSecret of namespace(s)") {
			t.Fatalf("diff %v, want both refused naming shared/db", got)
		}
	}
}
