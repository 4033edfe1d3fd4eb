package pushsecret_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/render"
)

// countingSM is a Secrets Manager stand-in that counts every Push: while
// fail is set each one fails, as AWS refusing the write would.
type countingSM struct {
	mu     sync.Mutex
	calls  int
	fail   bool
	remote map[string]string
}

func (c *countingSM) ID() string                              { return "counting" }
func (c *countingSM) Canonical(r providers.Ref) providers.Ref { return r }
func (c *countingSM) Resolve(context.Context, []providers.Ref) map[providers.Ref]providers.Fetched {
	return nil
}
func (c *countingSM) DeleteRemote(context.Context, string) (bool, error) { return true, nil }
func (c *countingSM) Push(_ context.Context, p providers.Push) (providers.Pushed, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail {
		return "", errors.New("AccessDeniedException: not authorized to perform secretsmanager:PutSecretValue")
	}
	old, ok := c.remote[p.Key]
	c.remote[p.Key] = string(p.Value)
	switch {
	case !ok:
		return providers.Created, nil
	case old != string(p.Value):
		return providers.Updated, nil
	}
	return providers.Unchanged, nil
}

// take returns the pushes since it was last called.
func (c *countingSM) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.calls
	c.calls = 0
	return n
}

func (c *countingSM) failing(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = on
}

// rig is one PushSecret, ns/p, pushing key k of Secret ns/src to the remote
// secret remote/p, with a clock the test moves and the inventory's rows
// carried from pass to pass as the reconciler carries them.
type rig struct {
	t       *testing.T
	dir     string
	now     time.Time
	kube    *fake.Clientset
	sm      *countingSM
	set     *render.Set
	p       *pushsecret.Pusher
	rows    []inventory.PushRow
	events  []string
	evMu    sync.Mutex
	version int // the source's resourceVersion (the fake client sets none)
	spec    string
	// generated counts the generator's runs.
	generated int
	canary    string
	secrets   leaktest.Canaries
}

const storeYAML = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: ns}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"

// fromSource is ns/p's spec pushing key k of Secret ns/src; fromGenerator
// pushes the password of Password ns/pw instead.
const (
	fromSource    = "  selector: {secret: {name: src}}\n  data:\n    - match: {secretKey: k, remoteRef: {remoteKey: remote/p}}\n"
	fromGenerator = "  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}\n  data:\n    - match: {secretKey: password, remoteRef: {remoteKey: remote/p}}\n" +
		"---\napiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: ns}\nspec: {length: 24}\n"
)

// pushYAML is ns/p with spec (fromSource, fromGenerator) and extra lines
// added to its spec.
func pushYAML(spec, extra string) string {
	return "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: ns}\nspec:\n  secretStoreRefs: [{name: aws}]\n" + extra + spec
}

func newRig(t *testing.T, withSource bool) *rig {
	return newRigOf(t, withSource, fromSource)
}

func newRigOf(t *testing.T, withSource bool, spec string) *rig {
	g := &rig{t: t, dir: t.TempDir(), spec: spec, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		kube: fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}),
		sm:   &countingSM{remote: map[string]string{}}, canary: leaktest.Canary()}
	g.secrets.Add(g.canary)
	if withSource {
		g.source(g.canary)
	}
	g.render("")
	g.restart()
	return g
}

// render commits ns/p with extra spec lines, as a new revision would.
func (g *rig) render(extra string) {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.dir, "all.yaml"), []byte(storeYAML+pushYAML(g.spec, extra)), 0o600); err != nil {
		g.t.Fatal(err)
	}
	set, err := render.Render(context.Background(), g.dir, ".", render.Options{})
	if err != nil || len(set.Errors) > 0 || len(set.PushSecrets) != 1 {
		g.t.Fatalf("render: %v %v", err, set.Errors)
	}
	g.set = set
}

// restart is a new process: a new Pusher, nothing in memory, the rows the
// inventory holds.
func (g *rig) restart() {
	g.p = pushsecret.New(pushsecret.Config{Kube: g.kube, Concurrency: 1, Now: func() time.Time { return g.now }, Guard: inventory.PruneGuard,
		Provider: func(context.Context, *render.SecretStore, string) (providers.Provider, error) { return g.sm, nil },
		Generate: func(context.Context, *render.Generator) (map[string]providers.Value, error) {
			g.generated++
			return map[string]providers.Value{"password": providers.NewValue([]byte(g.canary))}, nil
		},
		Events: func(_ context.Context, _ corev1.ObjectReference, _, reason, msg string) {
			g.evMu.Lock()
			defer g.evMu.Unlock()
			g.secrets.Check(g.t, "event", msg)
			g.events = append(g.events, reason)
		}})
}

// source creates or updates ns/src with k=value.
func (g *rig) source(value string) {
	g.t.Helper()
	g.version++
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns", ResourceVersion: strconv.Itoa(g.version)}, Data: map[string][]byte{"k": []byte(value)}}
	secrets := g.kube.CoreV1().Secrets("ns")
	_, err := secrets.Update(context.Background(), s, metav1.UpdateOptions{})
	if err != nil {
		_, err = secrets.Create(context.Background(), s, metav1.CreateOptions{})
	}
	if err != nil {
		g.t.Fatal(err)
	}
}

// push runs one pass's Push and returns what it did, the provider calls
// it made and the Events it recorded; the rows become the inventory's.
func (g *rig) push() (pushsecret.Outcome, int, []string) {
	g.t.Helper()
	out := g.p.Push(context.Background(), pushsecret.Pass{Set: g.set, Old: g.rows, Redactor: scrub.New()})
	g.rows = out.Rows
	raw, _ := json.Marshal(out.Rows)
	g.secrets.Check(g.t, "inventory rows", string(raw))
	for _, err := range out.Failed {
		g.secrets.Check(g.t, "error", err.Error())
	}
	g.evMu.Lock()
	defer g.evMu.Unlock()
	events := g.events
	g.events = nil
	return out, g.sm.take(), events
}

func (g *rig) due() bool { return g.p.Due(context.Background(), scrub.New()) }

// A PushSecret whose push fails is not tried again before its retry time,
// whatever the passes in between (a failed pass makes every next poll a
// full pass): no provider call, no new Event, its failed row and error as
// they were, and Due does not call a pass due for it. At its retry time it
// runs; the waits double from a minute up to 1000 s. Before, each pass
// pushed it again.
func TestAFailingPushBacksOffDoublingToTheCap(t *testing.T) {
	g := newRig(t, true)
	g.sm.failing(true)
	out, calls, events := g.push()
	if calls != 1 || len(out.Failed) != 1 || !slices.Equal(events, []string{"PushFailed"}) {
		t.Fatalf("first push: %d calls, failed %v, events %q; want one failing call and its Event", calls, out.Failed, events)
	}
	failedRows, failedErr := slices.Clone(out.Rows), out.Failed[0].Error()
	if len(failedRows) != 1 || failedRows[0].Ready || failedRows[0].Reason != "ApplyFailed" || failedRows[0].Message == "" {
		t.Fatalf("rows %+v; want one failed row", failedRows)
	}
	last := g.now
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 1000 * time.Second, 1000 * time.Second} {
		g.now = last.Add(wait - time.Second)
		if g.due() {
			t.Fatalf("retry %d: Due a second before its retry time (wait %s)", i+1, wait)
		}
		out, calls, events = g.push()
		if calls != 0 || len(events) != 0 {
			t.Fatalf("retry %d: a pass a second before its retry time made %d calls, events %q", i+1, calls, events)
		}
		if len(out.Failed) != 1 || out.Failed[0].Error() != failedErr || !cmp.Equal(out.Rows, failedRows) {
			t.Fatalf("retry %d: while backing off, failed %v rows %+v; want the failure as it was", i+1, out.Failed, out.Rows)
		}
		g.now = last.Add(wait)
		if !g.due() {
			t.Fatalf("retry %d: not Due at its retry time (wait %s)", i+1, wait)
		}
		if _, calls, events = g.push(); calls != 1 || !slices.Equal(events, []string{"PushFailed"}) {
			t.Fatalf("retry %d: at its retry time %d calls, events %q; want one", i+1, calls, events)
		}
		last = g.now
	}
}

// A change of the source Secret, of the PushSecret's spec, or an AWS event
// naming its remote secret retries a failing PushSecret at once and starts
// its backoff again at a minute; so does a success.
func TestAChangeAnEventOrASuccessRetriesAFailingPushAtOnce(t *testing.T) {
	g := newRig(t, true)
	g.sm.failing(true)
	g.push()
	g.now = g.now.Add(time.Minute)
	g.push() // the second failure: the next retry would be 2 min later
	// failsAgainAfterAMinute checks that the backoff started again.
	failsAgainAfterAMinute := func(what string) {
		t.Helper()
		g.now = g.now.Add(time.Minute - time.Second)
		if _, calls, _ := g.push(); calls != 0 {
			t.Fatalf("after %s: %d calls before a minute", what, calls)
		}
		g.now = g.now.Add(time.Second)
		if _, calls, _ := g.push(); calls != 1 {
			t.Fatalf("after %s: %d calls a minute later; want the backoff started again at a minute", what, calls)
		}
	}

	g.now = g.now.Add(10 * time.Second)
	g.source(g.canary + "-changed")
	if !g.due() {
		t.Fatal("a changed source did not make the failing PushSecret due")
	}
	if _, calls, events := g.push(); calls != 1 || len(events) != 1 {
		t.Fatalf("changed source: %d calls, events %q; want it retried at once", calls, events)
	}
	failsAgainAfterAMinute("a source change")

	g.now = g.now.Add(10 * time.Second)
	g.render("  refreshInterval: 2h\n")
	if _, calls, _ := g.push(); calls != 1 {
		t.Fatalf("changed spec: %d calls; want it retried at once", calls)
	}
	failsAgainAfterAMinute("a spec change")

	g.now = g.now.Add(10 * time.Second)
	if got := g.p.Touch([]string{"remote/p"}); !slices.Equal(got, []string{"PushSecret ns/p"}) {
		t.Fatalf("touched %q", got)
	}
	if !g.due() {
		t.Fatal("an AWS event did not make the failing PushSecret due")
	}
	if _, calls, _ := g.push(); calls != 1 {
		t.Fatalf("touched: %d calls; want it retried at once", calls)
	}
	failsAgainAfterAMinute("an AWS event")

	g.now = g.now.Add(time.Minute)
	g.push() // fails again: the next retry would be 2 min later
	g.now = g.now.Add(2 * time.Minute)
	g.sm.failing(false)
	if out, calls, _ := g.push(); calls != 1 || len(out.Failed) != 0 || !out.Rows[0].Ready {
		t.Fatalf("retry that succeeds: %d calls, failed %v", calls, out.Failed)
	}
	g.sm.failing(true)
	g.now = g.now.Add(2*time.Hour + time.Second) // its refreshInterval passed, nothing changed
	if _, calls, _ := g.push(); calls != 1 {
		t.Fatalf("refresh after a success: %d calls", calls)
	}
	failsAgainAfterAMinute("a success")
}

// A failing PushSecret of a generator does not run its generator while it
// backs off (a generator may call AWS too), and runs it at its retry time.
func TestAFailingGeneratedPushRunsNoGeneratorWhileItBacksOff(t *testing.T) {
	g := newRigOf(t, false, fromGenerator)
	g.sm.failing(true)
	if out, calls, _ := g.push(); len(out.Failed) != 1 || calls != 1 || g.generated != 1 {
		t.Fatalf("first push: failed %v, %d calls, %d generator runs", out.Failed, calls, g.generated)
	}
	g.now = g.now.Add(59 * time.Second)
	if out, calls, events := g.push(); len(out.Failed) != 1 || calls != 0 || len(events) != 0 || g.generated != 1 {
		t.Fatalf("backing off: failed %v, %d calls, events %q, %d generator runs; want the failure kept and nothing run", out.Failed, calls, events, g.generated)
	}
	g.now = g.now.Add(time.Second)
	if _, calls, _ := g.push(); calls != 1 || g.generated != 2 {
		t.Fatalf("at the retry time: %d calls, %d generator runs", calls, g.generated)
	}
}

// A PushSecret refused before it pushes (its source Secret is missing)
// records its Event once, not at every pass, and runs as soon as the
// source appears.
func TestAPushSecretWaitingForItsSourceRecordsOneEventAndRunsWhenItAppears(t *testing.T) {
	g := newRig(t, false)
	out, calls, events := g.push()
	if len(out.Failed) != 1 || calls != 0 || !slices.Equal(events, []string{"PushFailed"}) {
		t.Fatalf("missing source: failed %v, %d calls, events %q", out.Failed, calls, events)
	}
	g.now = g.now.Add(10 * time.Second)
	if g.due() {
		t.Fatal("Due with the source still missing, before the retry time")
	}
	if out, _, events = g.push(); len(out.Failed) != 1 || len(events) != 0 {
		t.Fatalf("next pass: failed %v, events %q; want the failure kept and no new Event", out.Failed, events)
	}
	g.source(g.canary)
	if !g.due() {
		t.Fatal("the source appeared and the PushSecret is not due")
	}
	if out, calls, _ = g.push(); len(out.Failed) != 0 || calls != 1 || out.Pushed != 1 {
		t.Fatalf("source appeared: failed %v, %d calls, pushed %d", out.Failed, calls, out.Pushed)
	}
}

// After a restart (a new Pusher over the inventory's rows), a PushSecret
// whose spec, stores and source versions are those its rows recorded, and
// whose refresh is not due, is not pushed: no provider call (before, each
// remote secret was read and compared). A changed source, a changed spec,
// a refresh due, rows of an older record (no digest) or a check time ahead
// of the clock are pushed.
func TestARestartTrustsTheRecordedRowsAndCallsNoProvider(t *testing.T) {
	g := newRig(t, true)
	if out, calls, _ := g.push(); calls != 1 || out.Pushed != 1 {
		t.Fatalf("first push: %d calls, pushed %d", calls, out.Pushed)
	}
	rows := slices.Clone(g.rows)
	if rows[0].Synced == "" || rows[0].Checked == nil {
		t.Fatalf("row %+v; want its synced digest and check time", rows[0])
	}
	g.now = g.now.Add(30 * time.Minute)
	g.restart()
	out, calls, _ := g.push()
	if calls != 0 || out.Pushed != 0 || len(out.Failed) != 0 || !cmp.Equal(out.Rows, rows) {
		t.Fatalf("pass after a restart: %d calls, pushed %d, failed %v, rows %+v; want none and the rows kept", calls, out.Pushed, out.Failed, out.Rows)
	}
	if g.due() {
		t.Fatal("Due after the restart's pass, nothing changed")
	}

	base := g.now
	pushedAfterRestart := func(what string, change func()) {
		t.Helper()
		g.rows, g.now = slices.Clone(rows), base
		g.render("")
		g.restart()
		change()
		if _, calls, _ := g.push(); calls != 1 {
			t.Fatalf("%s: %d calls after a restart; want it pushed", what, calls)
		}
	}
	pushedAfterRestart("rows of an older record", func() { g.rows[0].Synced, g.rows[0].Checked = "", nil })
	pushedAfterRestart("a check time ahead of the clock", func() { at := metav1.NewTime(g.now.Add(time.Hour)); g.rows[0].Checked = &at })
	pushedAfterRestart("a refresh due", func() { g.now = g.now.Add(31 * time.Minute) })
	pushedAfterRestart("a changed spec", func() { g.render("  updatePolicy: Replace\n") })
	pushedAfterRestart("a changed source", func() { g.source(g.canary + "-changed") })
	if g.sm.remote["remote/p"] != g.canary+"-changed" {
		t.Fatal("the changed source was not pushed")
	}
}

// A new resourceVersion of the source with the same value costs no push
// (the values in memory are the same) and is recorded in the row's
// digest, so a restart after it still trusts the row.
func TestASourceVersionWithTheSameValueIsRecordedWithoutAPush(t *testing.T) {
	g := newRig(t, true)
	g.push()
	first := g.rows[0].Synced
	g.source(g.canary) // same value, new resourceVersion
	if _, calls, _ := g.push(); calls != 0 || g.rows[0].Synced == first {
		t.Fatalf("%d calls, digest kept %v; want no call and the new version recorded", calls, g.rows[0].Synced == first)
	}
	g.restart()
	if _, calls, _ := g.push(); calls != 0 {
		t.Fatalf("%d calls after a restart; want the recorded row trusted", calls)
	}
}

// A PushSecret that backs off still holds the remote secrets Git names for
// it against another namespace's PushSecret: one of namespace a that
// starts pushing to the remote secret a waiting generated push of
// namespace b writes is refused, not pushed over it.
func TestABackingOffPushStillHoldsItsRemoteSecretAgainstAnotherNamespace(t *testing.T) {
	css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	inB := "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: b}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n" +
		"  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}\n  data: [{match: {secretKey: password, remoteRef: {remoteKey: team-b/db}}}]\n" +
		"---\napiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: b}\nspec: {length: 24}\n"
	inA := "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: a}\nspec:\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n" +
		"  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: team-b/db}}}]\n"
	g := newRig(t, false)
	for _, ns := range []string{"a", "b"} {
		if _, err := g.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.kube.CoreV1().Secrets("a").Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "a"},
		Data: map[string][]byte{"k": []byte(g.canary + "-takeover")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	renderAll := func(docs string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(g.dir, "all.yaml"), []byte(docs), 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := render.Render(context.Background(), g.dir, ".", render.Options{})
		if err != nil || len(set.Errors) > 0 {
			t.Fatalf("render: %v %v", err, set.Errors)
		}
		g.set = set
	}
	renderAll(css + inB)
	g.sm.failing(true)
	if out, calls, _ := g.push(); len(out.Failed) != 1 || calls != 1 {
		t.Fatalf("team b's push: failed %v, %d calls; want one failing call", out.Failed, calls)
	}
	g.sm.failing(false)
	g.now = g.now.Add(10 * time.Second)
	renderAll(css + inB + inA)
	out, calls, _ := g.push()
	if calls != 0 || len(out.Failed) != 2 {
		t.Fatalf("team a's push while b backs off: %d calls, failed %v; want both refused and nothing pushed", calls, out.Failed)
	}
}
