package reconciler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/reconciler"
)

// source writes the Secret a PushSecret pushes from, in namespace ns, and
// remembers its values for the leak check.
func (f *fixture) source(ns, name string, data map[string]string) {
	f.t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
		f.remember(v)
	}
	ctx := context.Background()
	if _, err := env.Client.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// push is a PushSecret of the fixture's namespace from Secret src, with
// one data entry per "secretKey=remoteKey#property" (an empty secretKey
// pushes the whole Secret), and extra spec lines.
func (f *fixture) push(name, src, extra string, items ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: %s}}\n%s  data:\n", name, f.ns, src, extra)
	for _, it := range items {
		key, ref, _ := strings.Cut(it, "=")
		remote, prop, _ := strings.Cut(ref, "#")
		fmt.Fprintf(&b, "    - match: {secretKey: %q, remoteRef: {remoteKey: %s, property: %q}}\n", key, remote, prop)
	}
	return b.String()
}

// remote is a remote secret's current value, whether it is scheduled for
// deletion, and its tags; ok false when it does not exist.
func (f *fixture) remote(name string) (value string, deleted bool, tags map[string]string, ok bool) {
	f.t.Helper()
	ctx := context.Background()
	d, err := f.sm.Client().DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: awssdk.String(name)})
	if err != nil {
		if strings.Contains(err.Error(), "ResourceNotFoundException") {
			return "", false, nil, false
		}
		f.t.Fatal(err)
	}
	tags = map[string]string{}
	for _, t := range d.Tags {
		tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	if d.DeletedDate != nil {
		return "", true, tags, true
	}
	g, err := f.sm.Client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(name)})
	if err != nil {
		f.t.Fatal(err)
	}
	if g.SecretString != nil {
		return *g.SecretString, false, tags, true
	}
	return string(g.SecretBinary), false, tags, true
}

func (f *fixture) remoteValue(name, want string) {
	f.t.Helper()
	if v, deleted, _, ok := f.remote(name); !ok || deleted || v != want {
		f.t.Fatalf("remote %s: exists %v, deleted %v, value as wanted %v", name, ok, deleted, v == want)
	}
}

func writes(c map[string]int) int {
	return c["CreateSecret"] + c["PutSecretValue"] + c["DeleteSecret"] + c["TagResource"] + c["UntagResource"] + c["PutResourcePolicy"] + c["DeleteResourcePolicy"]
}

func pushRows(inv inventory.Inventory) []string {
	var out []string
	for _, r := range inv.Pushed {
		out = append(out, fmt.Sprintf("%s %s %s#%s %v %s", r.PushSecret, r.Store, r.RemoteKey, r.Property, r.Ready, r.Reason))
	}
	return out
}

func TestPushSecretPushesUpdatesAndWritesNothingWhenUnchanged(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "push-value-one", "u": "alice-user-1"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.push("p", "src", "", "k=app/k", "u=app/json#user", "=app/all")})
	res := f.pass()
	if !res.OK() || res.Pushed != 3 {
		t.Fatalf("first pass: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	f.remoteValue("app/k", "push-value-one")
	f.remoteValue("app/json", `{"user":"alice-user-1"}`)
	f.remoteValue("app/all", `{"k":"push-value-one","u":"alice-user-1"}`)
	if _, _, tags, _ := f.remote("app/k"); tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Fatalf("tags %v, want %s=%s", tags, providers.ManagedByTag, providers.ManagedByValue)
	}
	ns := f.ns
	want := []string{
		ns + "/p SecretStore/" + ns + "/aws app/all# true created",
		ns + "/p SecretStore/" + ns + "/aws app/json#user true created",
		ns + "/p SecretStore/" + ns + "/aws app/k# true created",
	}
	if got := pushRows(f.inventory()); !slices.Equal(got, want) {
		t.Fatalf("inventory rows\n got %q\nwant %q", got, want)
	}
	for _, r := range f.inventory().Pushed {
		if r.LastPush == nil || r.Secret != ns+"/src" || r.Source != "push.yaml" {
			t.Fatalf("row %+v", r)
		}
	}
	evs, err := env.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=Pushed"})
	if err != nil || len(evs.Items) != 3 || evs.Items[0].InvolvedObject.Kind != "PushSecret" {
		t.Fatalf("Pushed events: %d, %v", len(evs.Items), err)
	}

	// A pass with nothing changed makes no AWS call at all; after a
	// restart (nothing in memory) it reads and compares, and writes nothing.
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.Pushed != 0 || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("no-op pass: ok %v, pushed %d, calls %v", res.OK(), res.Pushed, f.sm.SM.Calls())
	}
	f.rec = f.newReconciler()
	if res := f.pass(); !res.OK() || res.Pushed != 0 || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("pass after a restart: ok %v, pushed %d, calls %v", res.OK(), res.Pushed, f.sm.SM.Calls())
	}

	// A poll with nothing changed is skipped: no AWS call.
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped || f.sm.SM.TotalCalls() != 0 {
		t.Fatalf("unforced no-op pass: stage %s, calls %v", res.Stage, f.sm.SM.Calls())
	}
	// A changed source is pushed by the next poll, refreshInterval or not.
	f.source(f.ns, "src", map[string]string{"k": "push-value-two", "u": "alice-user-1"})
	f.sm.SM.ResetCalls()
	if res := f.passWith(false); !res.OK() || res.Pushed != 2 {
		t.Fatalf("pass after the source changed: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	if c := f.sm.SM.Calls(); c["PutSecretValue"] != 2 || c["CreateSecret"] != 0 {
		t.Fatalf("calls %v, want a new version of app/k and app/all only", c)
	}
	f.remoteValue("app/k", "push-value-two")
	f.remoteValue("app/json", `{"user":"alice-user-1"}`)
}

// IfNotExists leaves a remote secret made by hand; Replace refuses to
// write over one without our tag, and Delete never deletes it.
func TestPushSecretNeverTouchesARemoteSecretNotOurs(t *testing.T) {
	f := newFixture(t)
	f.seed("hand/made", "hand-made-value")
	f.seed("hand/other", "hand-other-value")
	f.source(f.ns, "src", map[string]string{"k": "pushed-over-value"})
	f.commit(map[string]string{"store.yaml": f.store(),
		"keep.yaml": f.push("keep", "src", "  updatePolicy: IfNotExists\n", "k=hand/made"),
		"over.yaml": f.push("over", "src", "  deletionPolicy: Delete\n", "k=hand/other#x")})
	res := f.pass()
	if res.OK() || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "PushSecret "+f.ns+"/over") ||
		!strings.Contains(res.Errors[0].Error(), "never overwritten") {
		t.Fatalf("errors %v, want one: over refused for a secret not ours", res.Errors)
	}
	f.remoteValue("hand/made", "hand-made-value")
	f.remoteValue("hand/other", "hand-other-value")
	want := []string{
		f.ns + "/keep SecretStore/" + f.ns + "/aws hand/made# true exists",
		f.ns + "/over SecretStore/" + f.ns + "/aws hand/other#x false ApplyFailed",
	}
	if got := pushRows(f.inventory()); !slices.Equal(got, want) {
		t.Fatalf("rows\n got %q\nwant %q", got, want)
	}
	// over leaves Git: its deletionPolicy Delete meets a secret not ours.
	f.commit(map[string]string{"over.yaml": ""})
	f.sm.SM.ResetCalls()
	res = f.pass()
	if c := f.sm.SM.Calls(); c["DeleteSecret"] != 0 {
		t.Fatalf("calls %v", c)
	}
	// It never wrote hand/other, so it does not even try to delete it.
	if !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("errors %v, deleted %d; want nothing tried", res.Errors, res.PushDeleted)
	}
	f.remoteValue("hand/other", "hand-other-value")
	if got := pushRows(f.inventory()); !slices.Equal(got, want[:1]) {
		t.Fatalf("rows %q, want keep's only", got)
	}
}

func TestPushSecretDeletesWhatLeavesGitUnderGuards(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"a": "value-of-a-1", "b": "value-of-b-1", "c": "value-of-c-1"})
	f.commit(map[string]string{"store.yaml": f.store(),
		"p.yaml":    f.push("p", "src", "  deletionPolicy: Delete\n", "a=del/a", "b=del/b", "c=del/c", "a=del/d"),
		"none.yaml": f.push("none", "src", "", "a=keep/a")})
	if res := f.pass(); !res.OK() || res.Pushed != 5 {
		t.Fatalf("first pass: %v %d", res.Errors, res.Pushed)
	}

	// A data entry leaves Git, but the render has an error: nothing deleted.
	f.commit(map[string]string{"p.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "a=del/a", "c=del/c", "a=del/d"),
		"broken.yaml": "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: x, namespace: " + f.ns + "}\nspec: {}\n"})
	res := f.pass()
	if !slices.Contains(res.PruneRefused, "remote SecretStore/"+f.ns+"/aws del/b") || !strings.Contains(res.PruneSkipped, "render reported") {
		t.Fatalf("under a render error: refused %v, skipped %q", res.PruneRefused, res.PruneSkipped)
	}
	f.remoteValue("del/b", "value-of-b-1")

	// Fixed: the entry that left is deleted, within the recovery window.
	f.commit(map[string]string{"broken.yaml": ""})
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.PushDeleted != 1 {
		t.Fatalf("pass: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	if _, deleted, _, ok := f.remote("del/b"); !ok || !deleted {
		t.Fatalf("del/b: exists %v, scheduled for deletion %v; want scheduled", ok, deleted)
	}
	f.remoteValue("del/a", "value-of-a-1")

	// Suspended (`secretsync suspend`), the service runs no pass at all
	// (service.loop; held by cmd/secretsync
	// TestOperatorControlsOnARunningInstance), so Git moves on by several
	// revisions meanwhile. The first pass after resume deletes what left in
	// any of them, by one DeleteSecret of that name with the store's
	// recovery window (none set: AWS's 30 days, as ESO), and nothing else.
	f.commit(map[string]string{"p.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "a=del/a", "c=del/c")})
	f.commit(map[string]string{"README.md": "a later, unrelated change"})
	f.remoteValue("del/d", "value-of-a-1")
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || res.PushDeleted != 1 {
		t.Fatalf("first pass after two revisions: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	req, _ := f.sm.SM.LastDelete()
	if c := f.sm.SM.Calls(); c["DeleteSecret"] != 1 || !strings.Contains(req.SecretID, ":secret:del/d-") ||
		req.RecoveryWindowInDays != nil || req.ForceDeleteWithoutRecovery != nil {
		t.Fatalf("calls %v, DeleteSecret of %q with window %v, force %v; want one, of del/d, neither sent", c, req.SecretID, req.RecoveryWindowInDays != nil, req.ForceDeleteWithoutRecovery != nil)
	}
	if _, deleted, _, ok := f.remote("del/d"); !ok || !deleted {
		t.Fatalf("del/d: exists %v, scheduled for deletion %v; want scheduled", ok, deleted)
	}
	f.remoteValue("del/a", "value-of-a-1")
	f.remoteValue("del/c", "value-of-c-1")

	// Budget: two deletions over a budget of one are refused.
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.PruneBudget = 1 })
	f.commit(map[string]string{"p.yaml": f.push("p", "src", "  deletionPolicy: Delete\n", "a=other/a")})
	res = f.pass()
	if !strings.Contains(res.PruneSkipped, "exceed the budget") {
		t.Fatalf("over budget: skipped %q, errors %v", res.PruneSkipped, res.Errors)
	}
	f.remoteValue("del/a", "value-of-a-1")
	f.remoteValue("del/c", "value-of-c-1")

	// A revision with no PushSecret while pushes are recorded: refused.
	f.rec = f.newReconciler()
	f.commit(map[string]string{"p.yaml": "", "none.yaml": ""})
	res = f.pass()
	if !strings.Contains(res.PruneSkipped, "renders no PushSecret") {
		t.Fatalf("empty revision: skipped %q, errors %v", res.PruneSkipped, res.Errors)
	}
	f.remoteValue("del/a", "value-of-a-1")

	// Allowed: p's remote secrets go; none's (deletionPolicy None) stay.
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.AllowEmpty = true })
	if res := f.pass(); !res.OK() || res.PushDeleted != 3 {
		t.Fatalf("allowed: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	for _, n := range []string{"del/a", "del/c", "other/a"} {
		if _, deleted, _, _ := f.remote(n); !deleted {
			t.Fatalf("%s not deleted", n)
		}
	}
	f.remoteValue("keep/a", "value-of-a-1")
	if rows := f.inventory().Pushed; len(rows) != 0 {
		t.Fatalf("rows kept: %+v", rows)
	}
}

// A PushSecret reads only its own namespace: a Secret of that name in
// another namespace is never read, nothing is pushed.
func TestPushSecretReadsOnlyItsOwnNamespace(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.source(other, "src", map[string]string{"k": "other-namespace-value"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.push("p", "src", "", "k=app/k")})
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "source Secret "+f.ns+"/src not found") {
		t.Fatalf("errors %v", res.Errors)
	}
	if _, _, _, ok := f.remote("app/k"); ok || f.sm.SM.Calls()["CreateSecret"] != 0 {
		t.Fatal("pushed from another namespace")
	}
}

// A PushSecret whose IfNotExists push found a remote secret already there
// (tagged by another team's push, or by ESO) never wrote it: when it leaves
// Git under deletionPolicy Delete, that secret is not deleted. Nor is one a
// PushSecret failed to push to (its source missing) and so never wrote.
func TestPushSecretNeverDeletesWhatItNeverWrote(t *testing.T) {
	f := newFixture(t)
	tag := map[string]string{providers.ManagedByTag: providers.ManagedByValue}
	f.seedTagged("team-b/pushed", "team-b-pushed-value", tag)
	f.seedTagged("team-b/other", "team-b-other-value", tag)
	f.source(f.ns, "src", map[string]string{"k": "team-a-value"})
	f.commit(map[string]string{"store.yaml": f.store(),
		"claim.yaml":  f.push("claim", "src", "  updatePolicy: IfNotExists\n  deletionPolicy: Delete\n", "k=team-b/pushed"),
		"failed.yaml": f.push("failed", "missing", "  deletionPolicy: Delete\n", "k=team-b/other")})
	res := f.pass()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "missing not found") {
		t.Fatalf("errors %v, want failed's source not found", res.Errors)
	}
	f.remoteValue("team-b/pushed", "team-b-pushed-value")
	// Both leave Git: neither remote secret was written by secretsync.
	f.commit(map[string]string{"claim.yaml": "", "failed.yaml": "", "keep.yaml": f.push("keep", "src", "", "k=team-a/keep")})
	f.sm.SM.ResetCalls()
	res = f.pass()
	if c := f.sm.SM.Calls(); c["DeleteSecret"] != 0 || res.PushDeleted != 0 {
		t.Fatalf("calls %v, deleted %d: a remote secret secretsync never wrote was deleted", c, res.PushDeleted)
	}
	f.remoteValue("team-b/pushed", "team-b-pushed-value")
	f.remoteValue("team-b/other", "team-b-other-value")
	if got := pushRows(f.inventory()); len(got) != 1 || !strings.Contains(got[0], "/keep ") {
		t.Fatalf("rows %q, want keep's only", got)
	}
}

// A service-account or bootstrap token is a credential to this cluster: a
// PushSecret never copies one out to AWS, as secretsync never writes one.
func TestPushSecretNeverPushesAClusterToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, typ := range map[string]corev1.SecretType{"sa": corev1.SecretTypeServiceAccountToken, "boot": corev1.SecretTypeBootstrapToken} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}}, Type: typ,
			Data: map[string][]byte{"token": []byte("cluster-token-" + name)}}
		if typ == corev1.SecretTypeBootstrapToken {
			s.Namespace = f.ns
			s.Data = map[string][]byte{"token-id": []byte("abcdef"), "token": []byte("cluster-token-" + name)}
		}
		f.remember("cluster-token-" + name)
		if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"sa.yaml":   f.push("sa", "sa", "", "token=stolen/sa"),
		"boot.yaml": f.push("boot", "boot", "", "=stolen/boot")})
	res := f.pass()
	if len(res.Errors) != 2 {
		t.Fatalf("errors %v, want both PushSecrets refused", res.Errors)
	}
	for _, err := range res.Errors {
		if !strings.Contains(err.Error(), "is refused") {
			t.Fatalf("error %v, want the token type refused", err)
		}
	}
	for _, n := range []string{"stolen/sa", "stolen/boot"} {
		if _, _, _, ok := f.remote(n); ok {
			t.Fatalf("%s pushed", n)
		}
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("calls %v", c)
	}
}

// Two namespaces' PushSecrets that push to one remote secret of a shared
// ClusterSecretStore would overwrite each other's value in turn: team a
// could replace what team b's consumers read. Both are refused, and the
// remote secret keeps the value it holds.
func TestPushSecretsOfTwoNamespacesNeverShareARemoteSecret(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	pushIn := func(ns, value string) string {
		f.source(ns, "src", map[string]string{"k": value})
		return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: %s}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: team-b/db}}}]\n", ns)
	}
	f.commit(map[string]string{"css.yaml": css, "b.yaml": pushIn(other, "team-b-db-password")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("team b's push: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": pushIn(f.ns, "team-a-takeover")})
	f.sm.SM.ResetCalls()
	res := f.pass()
	if len(res.Errors) != 2 {
		t.Fatalf("errors %v, want both PushSecrets refused", res.Errors)
	}
	for _, err := range res.Errors {
		if !strings.Contains(err.Error(), "team-b/db") || !strings.Contains(err.Error(), "also pushed") {
			t.Fatalf("error %v, want the shared remote secret named", err)
		}
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("calls %v", c)
	}
	f.remoteValue("team-b/db", "team-b-db-password")
}
